"""Connections to ticket sources (Jira, ServiceNow): stored specs, sync cursors, inbound webhooks."""
