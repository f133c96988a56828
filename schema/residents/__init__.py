"""The residents domain's GraphQL: invitations, responses, updates and data rights."""
