"""The audit domain: who did what, when, in each organisation."""

from server.audit.models import AuditEntry
from server.core.manifest import Domain

DOMAIN = Domain(name="audit", models=(AuditEntry,))
