"""What the accounts domain adds to the schema root (schema.root)."""

from schema.accounts.mutations import AccountsMutation
from schema.accounts.queries import AccountsQuery
from schema.part import SchemaPart

PART = SchemaPart(query=AccountsQuery, mutation=AccountsMutation)
