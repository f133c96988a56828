"""The campaigns domain: campaigns, listening conversations, residents, follow-ups, events."""
