"""Jobs of the reconciliation: the banks' stored files compared with the books, overdue
ageing, month-end and the quarter's expected deposit interest. Each calls
``ledger.recon`` as :data:`ledger.principal.SYSTEM` and returns counts; what needs a
person (a claim to file, a period to close, interest to record) becomes an alert, never
an operation."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ledger.db import run_in_transaction
from ledger.money import format_yuan
from ledger.ops.alerts import raise_alert
from ledger.ops.models import AlertKind, Severity
from ledger.principal import SYSTEM
from ledger.recon.ageing import ageing, expected_interest
from ledger.recon.balances import reconcile_balances
from ledger.recon.files import unreconciled
from ledger.recon.models import Break, BreakStatus
from ledger.recon.monthend import prepare_snapshot
from ledger.recon.statement import reconcile_statement

#: Contracts quoted in a claims-eligible alert (the rest are counted).
QUOTED = 20
#: The reconciliation job's name in the registry: its runs say which files it has taken.
RECONCILE = "reconcile"


def reconcile_files(factory: sessionmaker[Session], on: dt.date) -> dict[str, int]:
    """Reconcile every accepted balances and statement file not reconciled yet, in the
    order received, and count them (``ledger.recon.files``).

    Taking the files no reconciliation has recorded, not those of an hour or after a
    watermark, keeps a file accepted after a day's run (an upload at 21:00, after the
    20:00 run) for the next run, never skips one whose import committed late, and lets
    past days be run in order (``jobs run drop-folder --date D`` then ``jobs run
    reconcile --date D``). A file is reconciled again on demand with ``fundledger
    reconcile IMPORT_ID``; a break found again is the same break."""
    with factory() as s:
        files = unreconciled(s)
    counts: Counter[str] = Counter()
    for import_id, kind in files:
        work = reconcile_balances if kind == "balances" else reconcile_statement
        result = run_in_transaction(factory, lambda s, i=import_id, w=work: w(s, i, actor=SYSTEM))
        counts[f"{kind}_files"] += 1
        counts["findings"] += len(result.findings)
    return dict(counts)


def ageing_job(factory: sessionmaker[Session], on: dt.date) -> dict[str, int]:
    """Each outstanding loan's days overdue and bucket on ``on``; the loans that reached
    the claim threshold that day are proposed to the bureau in an alert."""
    with factory() as s:
        result = ageing(s, on)
    counts: Counter[str] = Counter()
    for (_bank, _fund, bucket), loans in result.buckets.items():
        counts[f"overdue_{bucket}"] += loans
    counts["claim_eligible"] = len(result.claim_eligible)
    if result.claim_eligible:
        quoted = [f"{f.bank}/{f.contract_no}" for f in result.claim_eligible[:QUOTED]]
        more = len(result.claim_eligible) - len(quoted)
        detail = "、".join(quoted) + (f" 等共 {len(result.claim_eligible)} 笔" if more else "")
        run_in_transaction(
            factory,
            lambda s: raise_alert(
                s, AlertKind.CLAIMS_ELIGIBLE,
                f"{on} 有 {len(result.claim_eligible)} 笔贷款逾期达到代偿条件"
                "（待经办人审查，不自动申请）",
                key=str(on), detail=detail, severity=Severity.INFO, job="ageing",
                period=str(on),
            ),
        )  # fmt: skip
    return dict(counts)


def month_end_job(factory: sessionmaker[Session], on: dt.date) -> dict[str, int]:
    """For the month ending ``on``: the trial balance and the month's fund statement are
    prepared and kept as the month's snapshot (``ledger.recon.monthend``), and the
    approver is told, with the breaks still holding the close."""
    month = f"{on:%Y-%m}"
    snap = prepare_snapshot(factory, month, actor=SYSTEM)
    open_breaks = snap.open_breaks
    debits, credits = snap.totals
    subject = f"{month} 月末：试算平衡与基金报表已生成，净资本 {format_yuan(snap.closing)} 元；" + (
        f"尚有 {open_breaks} 项对账差异未处理，处理后方可结账" if open_breaks else "可由审核人结账"
    )
    run_in_transaction(
        factory,
        lambda s: raise_alert(
            s, AlertKind.MONTH_END, subject, key=month, severity=Severity.INFO,
            job="month-end", period=month,
        ),
    )  # fmt: skip
    return {"open_breaks": open_breaks, "trial_balance_net": debits - credits,
            "chain_seq": snap.chain_seq}  # fmt: skip


def deposit_interest_job(factory: sessionmaker[Session], on: dt.date) -> dict[str, int]:
    """The quarter ending ``on``: the interest each special account should have earned,
    proposed to a clerk in an alert (recorded against the bank's statement, never here)."""
    quarter = (on.month - 1) // 3 + 1
    with factory() as s:
        expected = expected_interest(s, on.year, quarter)
    due = [e for e in expected if e.expected > 0]
    if due:
        detail = "\n".join(f"{e.account}: {format_yuan(e.expected)} 元" for e in due)
        run_in_transaction(
            factory,
            lambda s: raise_alert(
                s, AlertKind.INTEREST_EXPECTED,
                f"{on.year} 年第 {quarter} 季度专户应计利息 {len(due)} 户，请核对银行结息后入账",
                key=f"{on.year}Q{quarter}", detail=detail, severity=Severity.INFO,
                job="deposit-interest", period=f"{on.year}Q{quarter}",
            ),
        )  # fmt: skip
    return {"accounts": len(due), "expected_fen": sum(e.expected for e in due)}


def breaks_old_job(max_days: int):
    """A job raising a ``breaks-old`` alert while breaks stay open longer than
    ``max_days``."""

    def job(factory: sessionmaker[Session], on: dt.date) -> dict[str, int]:
        cutoff = on - dt.timedelta(days=max_days)
        with factory() as s:
            old = s.scalars(
                select(Break.id).where(
                    Break.status == BreakStatus.OPEN.value, Break.found_on <= cutoff
                )
            ).all()
        if old:
            run_in_transaction(
                factory,
                lambda s: raise_alert(
                    s, AlertKind.BREAKS_OLD,
                    f"{len(old)} 项对账差异已超过 {max_days} 天未处理",
                    detail=", ".join(map(str, old[:QUOTED])), job="breaks-old",
                    period=str(on),
                ),
            )  # fmt: skip
        return {"old_breaks": len(old)}

    return job
