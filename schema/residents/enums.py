"""The residents domain's GraphQL enums (names and values fixed by the client contract)."""

import strawberry

from server.residents.enums import InvitationChannel

strawberry.enum(InvitationChannel, name="InvitationChannel")

__all__ = ["InvitationChannel"]
