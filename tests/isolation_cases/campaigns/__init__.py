"""The campaigns domain's cases, one module per part of the domain, merged here."""

from __future__ import annotations

from typing import Any

from tests.isolation_cases.campaigns import campaigns, followups, report, sync

CASES: dict[str, Any] = {
    **campaigns.CASES,
    **sync.CASES,
    **followups.CASES,
    **report.CASES,
}
