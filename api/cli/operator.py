"""Who the command line acts as: the platform operator named by LEDGER_OPERATOR_ID, or a
fixed id."""

from __future__ import annotations

from uuid import NAMESPACE_URL, uuid5

from ledger.identity import Actor
from ledger.settings import Settings

CLI_OPERATOR = uuid5(NAMESPACE_URL, "urn:campaign-decision-ledger:cli-operator")


def operator(settings: Settings | None = None) -> Actor:
    return Actor((settings or Settings()).operator_id or CLI_OPERATOR, operator=True)
