"""The root types: every domain's queries and mutations merged by inheritance."""

from __future__ import annotations

import strawberry

from schema.accounts.mutations import AccountsMutation
from schema.accounts.queries import AccountsQuery
from schema.audit.queries import AuditQuery


@strawberry.type
class Query(AccountsQuery, AuditQuery):
    pass


@strawberry.type
class Mutation(AccountsMutation):
    pass
