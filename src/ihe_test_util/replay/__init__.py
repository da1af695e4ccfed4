"""Replay: cassettes -> regenerated requests -> new responses -> comparison -> results.

The engine yields :class:`ihe_test_util.results.ExchangeResult` values and prints nothing;
reporters and the CLI decide what to show.
"""
