"""Cases kept per domain: ``tests/<package>/<domain>.py`` for each of ``server.domains``.

A test table (isolation, audit) gathers its cases from every listed domain, so a new
domain adds a file of its own and edits no shared test. A module named after no domain
would be silently skipped, so ``strays`` finds those for a test to refuse.
"""

from __future__ import annotations

import pkgutil
from importlib import import_module
from importlib.util import find_spec
from types import ModuleType
from typing import Any

from schema import schema
from schema.part import SchemaPart
from server.domains import DOMAINS


def modules(package: str) -> dict[str, ModuleType]:
    """``<package>.<domain>`` for each domain that has one, in the domains' order."""
    found: dict[str, ModuleType] = {}
    for domain in DOMAINS:
        name = f"{package}.{domain.name}"
        if find_spec(name) is not None:
            found[domain.name] = import_module(name)
    return found


def gather(package: str, attr: str = "CASES", *, optional: bool = False) -> dict[str, Any]:
    """Every domain's ``attr`` table merged; a case name two domains claim is refused."""
    cases: dict[str, Any] = {}
    owners: dict[str, str] = {}
    for domain, module in modules(package).items():
        table: dict[str, Any] = getattr(module, attr, {}) if optional else getattr(module, attr)
        for name, case in table.items():
            if name in cases:
                raise ValueError(f"case {name!r} is in both {owners[name]} and {domain}")
            cases[name] = case
            owners[name] = domain
    return cases


def strays(package: str) -> list[str]:
    """Modules of ``package`` named after no domain (their cases would never run)."""
    path = import_module(package).__path__
    names = {m.name for m in pkgutil.iter_modules(path)}
    return sorted(names - {d.name for d in DOMAINS})


def root_fields(domain: str, *roots: str) -> list[str]:
    """The GraphQL names of the root fields a domain adds (``schema/<domain>/manifest.py``),
    of the given roots ("query", "mutation", "subscription"; all when none are given)."""
    if find_spec(f"schema.{domain}") is None:
        return []
    part: SchemaPart = import_module(f"schema.{domain}.manifest").PART
    name = schema.config.name_converter.get_graphql_name
    return [
        name(f)
        for root in roots or ("query", "mutation", "subscription")
        if (cls := getattr(part, root)) is not None
        for f in cls.__strawberry_definition__.fields
    ]
