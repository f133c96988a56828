"""Organisations, areas, people, devices and sessions."""
