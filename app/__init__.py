"""SLA Tracker: service-level clocks for helpdesk tickets."""

__version__ = "0.1.0"
