"""Policies: Casbin model and policy CSVs (data), their strict loader, and the authorizer.

The public surface::

    Authorizer.load(policy_dir) -> Authorizer        plan(), roles_for(), subjects(), policy_hash
    PolicyHolder.load(policy_dir) -> PolicyHolder    current, reload() -> ReloadResult
    AccessPlan                                       allowed, denied, masks, scope, decision
    apply_mask(), mask_function()                    full / partial / hashed / none
    build_table(authorizer, roles=...)               the effective permission table
"""

from policies.authorizer import Authorizer
from policies.decider import CasbinDecider, Decider, RecordingDecider, Verdict
from policies.holder import PolicyHolder, ReloadResult
from policies.loader import PolicySet, load_policy_set
from policies.masks import apply_mask, mask_function
from policies.plan import AccessPlan, FieldDecision
from policies.table import PermissionTable, build_table

__all__ = [
    "AccessPlan",
    "Authorizer",
    "CasbinDecider",
    "Decider",
    "FieldDecision",
    "PermissionTable",
    "PolicyHolder",
    "PolicySet",
    "RecordingDecider",
    "ReloadResult",
    "Verdict",
    "apply_mask",
    "build_table",
    "load_policy_set",
    "mask_function",
]
