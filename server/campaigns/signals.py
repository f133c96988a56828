"""What the campaigns domain announces in its transactions (core.manifest.Signal)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from server.core.manifest import Signal

# Conversations were created by these organisers (user ids), in the transaction that is
# about to commit: a domain that counts conversations (training) reacts in it.
CONVERSATIONS_LOGGED: Signal[Sequence[uuid.UUID]] = Signal("campaigns.conversations_logged")

# A campaign's tallies were rebuilt from its conversations (in this transaction): a domain
# that keeps tallies of its own (residents' responses) adds them again.
TALLIES_REBUILT: Signal[uuid.UUID] = Signal("campaigns.tallies_rebuilt")
