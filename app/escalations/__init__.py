"""Escalations: levels fired exactly once as clocks pass them, transition events, write-back to sources."""
