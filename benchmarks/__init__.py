"""Benchmarks: ``python -m benchmarks`` (or ``make bench``) runs them all.

Every figure is reported as a ratio against a baseline measured in the same run, so numbers
from different machines stay comparable.
"""
