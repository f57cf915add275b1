"""Exclusion windows (outages, force majeure) and per-clock exemptions (excused breaches)."""
