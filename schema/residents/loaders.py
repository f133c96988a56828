"""The residents domain's DataLoaders: a page of responses' answers and themes, one
statement each (docs/decisions/0009)."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlmodel import col
from strawberry.dataloader import DataLoader

from schema.campaigns.loaders import grouped
from server.campaigns.columns import THEME_COLUMNS
from server.campaigns.models import Theme
from server.residents.models import ResponseAnswer, ResponseTheme

if TYPE_CHECKING:
    from schema.context import Context

Row = sa.Row[Any]

_IDS: sa.BindParameter[Any] = sa.bindparam("ids", expanding=True)

# Reached only through responses already checked for this caller.
_ANSWER_COLUMNS: tuple[Any, ...] = (
    col(ResponseAnswer.response_id).label("group_id"),
    col(ResponseAnswer.question_id),
    col(ResponseAnswer.text),
    col(ResponseAnswer.number),
    col(ResponseAnswer.choices),
)
_ANSWERS = (
    sa.select(*_ANSWER_COLUMNS)
    .where(col(ResponseAnswer.response_id).in_(_IDS))
    .order_by(col(ResponseAnswer.question_id))
)
_THEMES = (
    sa.select(col(ResponseTheme.response_id).label("group_id"), *THEME_COLUMNS)
    .join(Theme, col(Theme.id) == ResponseTheme.theme_id)
    .where(
        col(ResponseTheme.response_id).in_(_IDS),
        col(Theme.organisation_id) == sa.bindparam("organisation_id"),
    )
    .order_by(col(Theme.name), col(Theme.id))
)


class ResidentsLoaders:
    def __init__(self, ctx: Context) -> None:
        self.answers: DataLoader[uuid.UUID, list[Row]] = DataLoader(grouped(ctx, _ANSWERS))
        self.themes: DataLoader[uuid.UUID, list[Row]] = DataLoader(grouped(ctx, _THEMES))
