"""The ``review`` action stays narrow: one shipped line grants it, one service asks for it.

The truth table (test_policy_truth_table.py) pins what every role gets for every action,
``review`` included; this module pins the other half: that no code other than the review
desk (:class:`core.compliance.ReviewDesk`) asks the policy for ``review``, so a role granted
it can do nothing but review decisions.
"""

from __future__ import annotations

import re
from pathlib import Path

from policies.authorizer import Authorizer
from policies.vocabulary import RESOURCES

ROOT = Path(__file__).resolve().parents[2]
ASKS_FOR_REVIEW = re.compile(r"""action\s*=\s*(?:["']review["']|REVIEW_ACTION)""")


def test_only_the_review_desk_asks_for_review() -> None:
    askers = sorted(
        str(path.relative_to(ROOT))
        for package in ("core", "api", "audit", "policies")
        for path in (ROOT / package).rglob("*.py")
        if ASKS_FOR_REVIEW.search(path.read_text(encoding="utf-8"))
    )
    assert askers == ["core/compliance.py"]


def test_review_is_granted_by_the_compliance_line_only(authorizer: Authorizer) -> None:
    fields = RESOURCES["customer"].fields
    granted = {}
    for role, purpose in (
        ("sales", "service"),
        ("mailmerge", "marketing"),
        ("compliance", "compliance"),
        ("analyst", "profiling"),
        ("analyst", "data_quality"),
        ("dpo", "erasure"),
        ("admin", "service"),
    ):
        plan = authorizer.plan(
            subject="someone",
            roles=frozenset({role}),
            purpose=purpose,
            resource="customer",
            action="review",
            fields=fields,
        )
        if plan.allowed:
            granted[(role, purpose)] = (sorted(plan.allowed), plan.scope)
    assert granted == {("compliance", "compliance"): (["suppression"], "all")}
