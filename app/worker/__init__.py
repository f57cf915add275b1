"""Background jobs (escalation scanner, outbox deliverer, sync pollers) and the loop that runs them."""
