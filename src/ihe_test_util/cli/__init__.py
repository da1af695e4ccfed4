"""The ``ihe`` command line: options -> settings -> engine -> reporters -> exit code.

Command modules import only click at module level; the engine is imported inside each
command's callback, so ``ihe --help`` stays fast.
"""
