"""What the residents domain adds to the schema root (schema.root)."""

from schema.part import SchemaPart

PART = SchemaPart()
