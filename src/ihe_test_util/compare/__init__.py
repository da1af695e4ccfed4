"""The IHE-aware response comparer: ``compare_responses``, user rules (``RuleSet``, ``load_rules``).

See :mod:`ihe_test_util.compare.comparer` for the steps and :mod:`ihe_test_util.compare.walk`
for how the tree walk stays linear on large responses.
"""

from ihe_test_util.compare.comparer import compare_responses
from ihe_test_util.compare.rules import RuleSet, UserRule, load_rules

__all__ = ["RuleSet", "UserRule", "compare_responses", "load_rules"]
