"""Enumerations of the training domain (names fixed by the client contract)."""

from __future__ import annotations

from enum import StrEnum


class EnrolmentStatus(StrEnum):
    """ACTIVE -> COMPLETED (by itself) or ACTIVE -> WITHDRAWN; never back."""

    ACTIVE = "ACTIVE"
    COMPLETED = "COMPLETED"
    WITHDRAWN = "WITHDRAWN"


class AttendanceStatus(StrEnum):
    PRESENT = "PRESENT"
    ABSENT = "ABSENT"
    EXCUSED = "EXCUSED"
