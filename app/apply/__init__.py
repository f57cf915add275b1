"""Configuration as code: calendars, policies and connections applied from YAML/JSON documents."""
