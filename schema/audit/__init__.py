"""The audit domain's GraphQL: the organisation's audit log."""
