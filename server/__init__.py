"""Doorstep: the service (HTTP, data, domain rules)."""
