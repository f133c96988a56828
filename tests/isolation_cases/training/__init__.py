"""The training domain's cases, one module per part of the domain, merged here."""

from __future__ import annotations

from typing import Any

from tests.isolation_cases.training import programmes, sessions

CASES: dict[str, Any] = {**programmes.CASES, **sessions.CASES}
