"""Reports: SLA compliance by metric, tier, priority, source or policy, with excused breaches apart."""
