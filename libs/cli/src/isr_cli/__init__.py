"""The isr command: every service, isr up, check-config, parse, watch, sim."""
