"""Ingestion: every way events enter (events API, inbound webhooks, syncs, repair) and the one flow they take."""
