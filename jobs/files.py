"""The expected-files check: a ``file-missing`` alert for each file a bank should have
sent and has not by its due day (configuration ``[expected_files.BANK]``)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session, sessionmaker

from jobs.config import Config, ExpectedFiles
from ledger.bankfiles.kinds import kind_named
from ledger.bankfiles.models import BankBalanceLine, BankFileImport, BankStatementLine
from ledger.db import run_in_transaction
from ledger.ops.alerts import raise_alert
from ledger.ops.models import AlertKind, Severity
from ledger.ops.runs import Period, PeriodKind


def expected_files_job(config: Config):
    def expected_files(factory: sessionmaker[Session], on: dt.date) -> dict[str, int]:
        """Raise a file-missing alert for each expected file past its due day."""
        missing = run_in_transaction(factory, lambda s: check_expected(s, config.expected, on))
        return {"missing": len(missing)}

    return expected_files


def check_expected(
    session: Session, expected: tuple[ExpectedFiles, ...], on: dt.date
) -> list[tuple[str, str, str]]:
    """(bank, kind, period key) of every expected file missing on ``on``, each alerted.

    A daily kind's file for day D is due ``due_days`` after D (none for a Saturday or a
    Sunday when the bank sends them on ``working_days``); a monthly kind's for a month by
    day ``monthly_due_day`` of the next month. A file counts as received when an accepted
    (or duplicate) upload of the bank and kind names the date in its file name
    (``{BANK}_{kind}_{YYYYMMDD}_{seq}``), or, for balances and statements, when lines
    dated in the period are stored."""
    missing = []
    for spec in expected:
        day = on - dt.timedelta(days=spec.due_days)
        weekend = spec.working_days and day.weekday() >= 5
        for kind in () if weekend else spec.daily:
            period = Period.containing(PeriodKind.DAILY, day)
            if not _received(session, spec.bank, kind, period):
                missing.append((spec.bank, kind, period))
        month = Period.containing(PeriodKind.MONTHLY, on).previous()
        if on.day >= spec.monthly_due_day:
            for kind in spec.monthly:
                if not _received(session, spec.bank, kind, month):
                    missing.append((spec.bank, kind, month))
    for bank, kind, period in missing:
        zh = kind_named(kind).zh
        raise_alert(
            session, AlertKind.FILE_MISSING,
            f"{bank} 未按时报送{period.key}的{zh}",
            key=f"{bank}:{kind}:{period.key}", bank=bank, period=period.key,
            detail=f"{bank} {kind} file for {period.key} not received by {on}",
            severity=Severity.WARNING,
        )  # fmt: skip
    return [(bank, kind, period.key) for bank, kind, period in missing]


def _received(session: Session, bank: str, kind: str, period: Period) -> bool:
    day = period.start
    names = []
    while day <= period.end:
        names.append(f"%{day:%Y%m%d}%")
        day += dt.timedelta(days=1)
    imports = BankFileImport

    by_name = session.scalar(
        select(
            exists().where(
                imports.bank_code == bank,
                imports.kind == kind,
                imports.status.in_(("accepted", "duplicate")),
                or_(*(imports.file_name.like(n) for n in names)),
            )
        )
    )
    if by_name:
        return True
    if kind == "balances":
        line, date = BankBalanceLine, BankBalanceLine.as_of
    elif kind == "statement":
        line, date = BankStatementLine, BankStatementLine.booked_on
    else:
        return False
    return bool(
        session.scalar(
            select(exists().where(line.bank_code == bank, date.between(period.start, period.end)))
        )
    )
