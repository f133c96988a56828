"""Isolation cases for the audit domain's root fields."""

from __future__ import annotations

from server.core.enums import Role
from tests.isolation_cases import Case, World


async def audit_log(w: World) -> None:
    await w.data("CreateArea", {"input": {"name": "Ours Audited"}})
    data = await w.data("AuditLog", {"first": 100})
    entries = [e["node"] for e in data["auditLog"]["edges"]]
    assert [e["action"] for e in entries] == ["area.create"]
    for entity_type in ("Area", "Device", "User"):
        data = await w.data("AuditLog", {"first": 100, "entityType": entity_type})
        assert all(
            e["node"]["actor"]["id"] == str(w.ours.members[Role.ADMIN].id)
            for e in data["auditLog"]["edges"]
        )


CASES: dict[str, Case] = {
    "auditLog": audit_log,
}
