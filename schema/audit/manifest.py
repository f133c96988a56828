"""What the audit domain adds to the schema root (schema.root)."""

from schema.audit.queries import AuditQuery
from schema.part import SchemaPart

PART = SchemaPart(query=AuditQuery)
