"""Allow ``python -m ihe_test_util``."""

from ihe_test_util.cli.main import main

if __name__ == "__main__":
    main()
