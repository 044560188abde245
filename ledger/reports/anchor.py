"""The chain position a report's figures stand on.

A report whose period ends on or before the date the books are closed through stands on
the hash-chain head recorded when that period was closed: the first close whose
``closed_through`` reaches the period's end (``ledger.periods.close_period`` records it,
after sealing what awaited its seal). Every entry dated in the period is at or before
that head, and no entry dated in it can be posted afterwards, so the report — figures
and anchor, hence fingerprint — is the same whenever it is produced again, however many
later closes follow.

A report of a period still open stands on the chain's head as it is when produced.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.models import GENESIS_HASH, LedgerHead, PeriodClose
from ledger.reports.document import Anchor


def anchor_for(session: Session, end: dt.date) -> Anchor:
    """The anchor of a report whose period ends on ``end`` (an as-of date is its end)."""
    close = session.execute(
        select(PeriodClose.closed_through, PeriodClose.chain_seq, PeriodClose.chain_hash)
        .where(PeriodClose.closed_through >= end)
        .order_by(PeriodClose.closed_through)
        .limit(1)
    ).first()
    if close is not None:
        return Anchor(close.chain_seq or 0, close.chain_hash or GENESIS_HASH, close.closed_through)
    head = session.execute(select(LedgerHead.seq, LedgerHead.hash).where(LedgerHead.id == 1)).one()
    return Anchor(head.seq, head.hash, None)
