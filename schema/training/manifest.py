"""What the training domain adds to the schema root (schema.root)."""

from strawberry.tools import merge_types

from schema.part import SchemaPart
from schema.training.attendance import AttendanceMutations
from schema.training.cohorts import CohortMutations, CohortQueries
from schema.training.enrolments import EnrolmentMutations
from schema.training.programmes import ProgrammeMutations, ProgrammeQueries
from schema.training.sessions import TrainingSessionMutations

PART = SchemaPart(
    query=merge_types("TrainingQuery", (ProgrammeQueries, CohortQueries)),
    mutation=merge_types(
        "TrainingMutation",
        (
            ProgrammeMutations,
            CohortMutations,
            EnrolmentMutations,
            TrainingSessionMutations,
            AttendanceMutations,
        ),
    ),
)
