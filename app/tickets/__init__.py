"""Tickets: identity, snapshot and the append-only log of normalized events."""
