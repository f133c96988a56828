"""The notifications domain's GraphQL: the inbox, preferences, delivery failures, live."""
