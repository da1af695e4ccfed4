"""Allow ``python -m ihe_test_util`` (the same entry point as the ``ihe`` script)."""

from ihe_test_util.cli.launcher import main

if __name__ == "__main__":
    main()
