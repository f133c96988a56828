"""The residents domain's cases, one module per part of the domain, merged here."""

from __future__ import annotations

from typing import Any

from tests.audit_cases.residents import responses, rights, updates

CASES: dict[str, Any] = {**responses.CASES, **updates.CASES, **rights.CASES}
