"""Audit trail: who did what to policies, exclusions, exemptions, keys and subscriptions."""
