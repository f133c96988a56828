"""The one list of domains. A new domain adds its manifest here, and nowhere else.

The worker, the schema root (``schema/<name>/``), Alembic and the tests all loop over it.
"""

from server.accounts.manifest import DOMAIN as ACCOUNTS
from server.audit.manifest import DOMAIN as AUDIT
from server.campaigns.manifest import DOMAIN as CAMPAIGNS
from server.core.manifest import Domain, Registry
from server.notifications.manifest import DOMAIN as NOTIFICATIONS
from server.outbox.manifest import DOMAIN as OUTBOX
from server.residents.manifest import DOMAIN as RESIDENTS
from server.training.manifest import DOMAIN as TRAINING

DOMAINS: tuple[Domain, ...] = (
    ACCOUNTS,
    AUDIT,
    NOTIFICATIONS,
    OUTBOX,
    CAMPAIGNS,
    TRAINING,
    RESIDENTS,
)
REGISTRY = Registry.gather(DOMAINS)
