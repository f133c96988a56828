"""The root types: every domain's queries, mutations and subscriptions, merged.

The domains come from ``server.domains.DOMAINS``, in its order: a domain with GraphQL
fields has a ``schema/<name>/manifest.py`` whose ``PART`` names its root classes.
"""

from __future__ import annotations

from importlib import import_module
from importlib.util import find_spec
from typing import Any

from strawberry.tools import merge_types

from schema.part import SchemaPart
from server.domains import DOMAINS


def _parts() -> list[SchemaPart]:
    parts: list[SchemaPart] = []
    for domain in DOMAINS:
        if find_spec(f"schema.{domain.name}") is not None:
            part = import_module(f"schema.{domain.name}.manifest").PART
            assert isinstance(part, SchemaPart), f"schema.{domain.name}.manifest.PART"
            parts.append(part)
    return parts


def _merged(name: str, classes: list[type | None]) -> Any:
    present = tuple(c for c in classes if c is not None)
    return merge_types(name, present) if present else None


PARTS = _parts()
Query = _merged("Query", [p.query for p in PARTS])
Mutation = _merged("Mutation", [p.mutation for p in PARTS])
Subscription = _merged("Subscription", [p.subscription for p in PARTS])
