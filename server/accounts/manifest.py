"""The accounts domain: organisations, members, areas, sessions and devices."""

from server.accounts.emails import ACCOUNT_EMAIL, TEMPLATES
from server.accounts.models import (
    ActionToken,
    Area,
    Device,
    Organisation,
    RefreshToken,
    User,
    UserArea,
)
from server.core.manifest import Domain

DOMAIN = Domain(
    name="accounts",
    models=(Organisation, User, Area, UserArea, Device, RefreshToken, ActionToken),
    outbox=(ACCOUNT_EMAIL,),
    templates=TEMPLATES,
)
