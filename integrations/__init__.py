"""Source adapters: they translate Jira/ServiceNow shapes to normalized events and back."""
