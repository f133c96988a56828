from __future__ import annotations

from enum import StrEnum


class InvitationChannel(StrEnum):
    """How an invitation reaches a resident: a link to share or print (with its QR code),
    or a message the workers send to a resident who consented to be contacted again."""

    LINK = "LINK"
    SMS = "SMS"
    EMAIL = "EMAIL"
