"""What the training domain adds to the schema root (schema.root)."""

from strawberry.tools import merge_types

from schema.part import SchemaPart
from schema.training.attendance import AttendanceMutations
from schema.training.sessions import TrainingSessionMutations

PART = SchemaPart(
    mutation=merge_types("TrainingMutation", (TrainingSessionMutations, AttendanceMutations)),
)
