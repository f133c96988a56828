"""The campaigns domain's GraphQL: types, queries, mutations and loaders."""
