"""Cross-cutting plumbing: settings, database, errors, logging, metrics, time."""
