"""The accounts domain's GraphQL: members, areas, sessions, devices."""
