"""The campaigns domain's cases, one module per part of the domain, merged here."""

from __future__ import annotations

from typing import Any

from tests.isolation_cases.campaigns import campaigns, events, followups, report, sync

CASES: dict[str, Any] = {
    **campaigns.CASES,
    **sync.CASES,
    **followups.CASES,
    **events.CASES,
    **report.CASES,
}
