"""The ``ihe`` command line: options -> settings -> engine -> reporters -> exit code.

``ihe --help`` lists the commands from ``main.COMMANDS`` without importing them. Command
modules import only click, ``cli/context.py`` and the standard library at module level; the
engine is imported inside each command's callback, so ``ihe <command> --help`` stays fast too.
"""
