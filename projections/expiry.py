"""The expiry sweep: the read side records a recommendation's ``Expired`` event itself.

Every ``LEDGER_EXPIRY_SWEEP_SECONDS`` (0: never) the worker that holds the register
projection's lease reads the register for undecided recommendations whose ``expires_at`` has
passed and issues ``ExpireRecommendation`` for each through ``Ledger.execute``, as the
``system`` actor (``ledger.identity.SYSTEM``): the command is checked by the same rules as a
person's, and its event's envelope says role ``system``, party ``platform``. Nothing else is
ever applied automatically.

At most once per recommendation however many workers sweep: the lease lets one sweep at a
time, and a second ``ExpireRecommendation`` for the same revision is refused by the ledger
(InvalidTransition once the first is recorded, or a conflict when two raced to save). Such a
refusal is expected and logged at debug; the register row catches up with the next batch.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from uuid import uuid4

import structlog

from ledger import commands as c
from ledger.application.service import Ledger
from ledger.errors import Conflict, InvalidTransition, LedgerError
from ledger.identity import SYSTEM
from projections.db import Database
from projections.queries.register import lapsed

log = structlog.get_logger("projections.expiry")

HARMLESS = (InvalidTransition, Conflict)  # another sweep (or a person) got there first


class ExpirySweep:
    """Expires what has lapsed; ``tick`` runs it when due and ``may_run()`` says yes."""

    def __init__(
        self,
        ledger: Ledger,
        db: Database,
        *,
        interval: float,
        may_run: Callable[[], bool] = lambda: True,
        batch: int = 500,
    ) -> None:
        self.ledger = ledger
        self.db = db
        self.interval = interval
        self.may_run = may_run
        self.batch = batch
        self._due = time.monotonic() + interval

    def tick(self) -> int:
        """Sweep if the interval has passed and this worker holds the lease; the number of
        Expired events recorded. A failure is logged, never raised: the loop goes on."""
        if self.interval <= 0 or time.monotonic() < self._due:
            return 0
        self._due = time.monotonic() + self.interval
        if not self.may_run():
            return 0
        try:
            return self.run()
        except Exception as e:  # a background loop must outlive a dead database
            log.error("expiry sweep failed", error=f"{type(e).__name__}: {e}")
            return 0

    def run(self) -> int:
        """One sweep now: expire every lapsed recommendation the register shows (up to
        ``batch``); the number of Expired events recorded."""
        correlation_id = f"expiry-sweep-{uuid4()}"
        recorded = 0
        for rec_id in lapsed(self.db, now=self.ledger.clock(), limit=self.batch):
            command = c.ExpireRecommendation(recommendation_id=rec_id)
            try:
                self.ledger.execute(command, SYSTEM, correlation_id=correlation_id)
            except HARMLESS as e:
                log.debug("already expired or decided", recommendation_id=str(rec_id), code=e.code)
                continue
            except LedgerError as e:
                log.warning(
                    "expiry refused", recommendation_id=str(rec_id), code=e.code, reason=str(e)
                )
                continue
            recorded += 1
        if recorded:
            log.info("expiry sweep recorded", expired=recorded, correlation_id=correlation_id)
        return recorded
