"""The demo city's bank files: what its partner banks send the month after its books end.

:func:`demo_bank_files` writes, into a folder, the files a bank clerk would find there, and
imports them through :func:`~ledger.bankfiles.imports.import_file` as the banks' own users,
so the demo has receipts of every status:

- each bank's loan balances at the end of the books (GBK CSV, Chinese headers) — accepted
  and stored for reconciliation;
- ICBC's repayments of the 20th of the next month (UTF-8 with BOM, English headers,
  amounts with thousands separators) — accepted and posted; then the same file again —
  a duplicate;
- ABC's repayments of the same day with two mistakes a clerk makes (a balance after the
  payment that is not the fund's, and a contract number with a typo) — rejected, with
  its error report written beside it.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from ledger.bankfiles import imports, reports
from ledger.clock import business_today
from ledger.db import run_in_transaction
from ledger.fund.models import Borrower, Loan, User
from ledger.money import fen_to_yuan, format_yuan

#: Repayments a demo file holds at most.
ROWS = 40


def demo_bank_files(
    factory: sessionmaker[Session], folder: Path, *, today: dt.date | None = None
) -> list[tuple[Path, imports.Receipt]]:
    """Write the demo banks' files into ``folder`` and import them; returns each file
    with its receipt, in the order imported."""
    today = today or business_today()
    folder.mkdir(parents=True, exist_ok=True)
    loans, clerks = run_in_transaction(factory, _read)
    if not loans:
        return []
    as_of = max(loan[4] for loan in loans)  # the last day the books moved a loan
    paid_on = min(as_of + dt.timedelta(days=20), today)
    files: list[tuple[str, str, Path]] = []
    for bank in sorted({loan[0] for loan in loans}):
        path = folder / f"{bank}_balances_{as_of:%Y%m%d}_1.csv"
        _balances(path, [x for x in loans if x[0] == bank], as_of)
        files.append((bank, "balances", path))
    for bank, dirty in (("ICBC", False), ("ABC", True)):
        active = [x for x in loans if x[0] == bank and x[3] > 0][:ROWS]
        if active:
            path = folder / f"{bank}_repayment_{paid_on:%Y%m%d}_1.csv"
            _repayments(path, bank, active, paid_on, dirty=dirty)
            files.append((bank, "repayment", path))
            if not dirty:
                files.append((bank, "repayment", path))  # sent twice by mistake
    done = []
    for bank, kind, path in files:
        receipt = imports.import_file(
            factory, bank=bank, kind=kind, path=path, actor=clerks.get(bank, "system"),
            today=today,
        )  # fmt: skip
        if receipt.status == "rejected":
            reports.write_receipt_report(
                factory, receipt.id, path.with_name(path.name + ".errors.csv")
            )
        done.append((path, receipt))
    return done


def _read(session: Session):
    rows = session.execute(
        select(
            Loan.bank_code, Loan.contract_no, Borrower.id_number,
            Loan.principal - Loan.repaid_principal,
            func.coalesce(Loan.last_paid_on, Loan.disbursed_on), Loan.annual_rate_ppm,
            Loan.status,
        )
        .join(Borrower, Borrower.id == Loan.borrower_id)
        .order_by(Loan.bank_code, Loan.id)
    ).all()  # fmt: skip
    loans = [
        (bank, contract, number, outstanding if status == "active" else 0, last, rate)
        for bank, contract, number, outstanding, last, rate, status in rows
    ]
    clerks = dict(
        session.execute(
            select(User.bank_code, User.username)
            .where(User.bank_code.is_not(None), User.active.is_(True))
            .order_by(User.username.desc())
        ).all()
    )
    return loans, clerks


def _balances(path: Path, loans: list[tuple], as_of: dt.date) -> None:
    with open(path, "w", encoding="gbk", newline="") as f:
        out = csv.writer(f)
        out.writerow(["余额日期", "贷款合同号", "本金余额", "逾期本金", "逾期天数"])
        for _bank, contract, _number, outstanding, _last, _rate in loans:
            out.writerow([f"{as_of:%Y%m%d}", contract, str(fen_to_yuan(outstanding)), "0.00", "0"])


def _repayments(path: Path, bank: str, loans: list[tuple], paid_on: dt.date, *, dirty: bool):
    with open(path, "w", encoding="utf-8-sig", newline="") as f:
        out = csv.writer(f)
        out.writerow(
            ["bank_ref", "contract_no", "id_number", "paid_on", "principal", "interest",
             "penalty", "balance_after"]
        )  # fmt: skip
        for n, (_bank, contract, number, outstanding, _last, rate) in enumerate(loans):
            principal = min(outstanding, 100_000)
            interest = outstanding * rate // 12 // 1_000_000
            after = outstanding - principal
            if dirty and n == 1:
                after += 100  # the bank's figure is off by one yuan
            if dirty and n == 2:
                contract = contract[:-1] + "O"  # the letter O typed for a zero
            out.writerow(
                [f"{bank}{paid_on:%Y%m%d}{n + 1:05d}", contract, number, paid_on.isoformat(),
                 format_yuan(principal), str(fen_to_yuan(interest)), "", format_yuan(after)]
            )  # fmt: skip
