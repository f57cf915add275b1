"""Demo dataset: a calendar, a policy and a few dozen tickets so a newcomer sees something at once."""
