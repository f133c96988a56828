"""Notifications: preferences, the pipeline from an event to a person, delivery status."""
