"""Audit cases of the campaigns domain: campaigns."""

from __future__ import annotations

from typing import Any

CASES: dict[str, Any] = {}
