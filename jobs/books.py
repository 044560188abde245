"""Jobs on the books themselves: sealing and verifying the hash chain."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session, sessionmaker

from ledger.chain import seal_pending
from ledger.db import run_in_transaction
from ledger.ops.alerts import raise_alert
from ledger.ops.models import AlertKind, Severity
from ledger.verify import verify as verify_books

#: Problems quoted in a chain-verification alert's detail (the rest are counted).
QUOTED_PROBLEMS = 20


def seal(factory: sessionmaker[Session], on: dt.date) -> dict[str, int]:
    """Seal entries a crash left unsealed (``fundledger seal``)."""
    return {"sealed": seal_pending(factory.kw["bind"])}


def verify(factory: sessionmaker[Session], on: dt.date) -> dict[str, int]:
    """Verify the whole books; problems raise a ``chain-verification`` alert (critical)
    and the run still succeeds: the job did its work, the books did not pass."""
    with factory() as session:
        report = verify_books(session)
    counts = {
        "entries": report.entries,
        "postings": report.postings,
        "accounts": report.accounts,
        "problems": len(report.problems),
    }
    if report.problems:
        quoted = report.problems[:QUOTED_PROBLEMS]
        more = len(report.problems) - len(quoted)
        detail = "\n".join(quoted) + (f"\n… and {more} more" if more else "")
        run_in_transaction(
            factory,
            lambda s: raise_alert(
                s, AlertKind.CHAIN_VERIFICATION,
                f"账簿校验发现 {len(report.problems)} 处问题（{on}）",
                detail=detail, severity=Severity.CRITICAL,
            ),
        )  # fmt: skip
    return counts
