"""Provisional Enrolment type until the domain's own lands."""

from __future__ import annotations

from typing import Any

import strawberry


@strawberry.type(name="Enrolment")
class EnrolmentType:
    id: strawberry.ID

    @classmethod
    def of(cls, row: Any) -> EnrolmentType:
        return cls(id=strawberry.ID(str(row.id)))
