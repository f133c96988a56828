"""The training domain's GraphQL enums (names and values fixed by the client contract)."""

import strawberry

from server.training.enums import AttendanceStatus, EnrolmentStatus

for _enum in (AttendanceStatus, EnrolmentStatus):
    strawberry.enum(_enum, name=_enum.__name__)

__all__ = ["AttendanceStatus", "EnrolmentStatus"]
