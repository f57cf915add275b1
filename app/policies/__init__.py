"""Policies as code: the policy document, its validation, and matching tickets to policies and targets."""

from app.policies.matching import select_policy, select_target
from app.policies.spec import PolicySpec, TargetSpec, parse_policy, policy_fingerprint

__all__ = ["PolicySpec", "TargetSpec", "parse_policy", "policy_fingerprint", "select_policy", "select_target"]
