"""The demo banks' reconciliation files with planted differences: a balances file per bank
at the end of the books, made from the fund's own figures, and ICBC's special-account
statement for the days after, with the mistakes a bank's files really carry.

Planted (:data:`PLANTED` names them):

- balances: the first loan of each bank off by 100.00 yuan (an amount typo); the second
  missing from the bank's file; the third reported 45 days overdue while the fund has it
  current (or current while the fund has it overdue); a loan ``GHOST-{BANK}-1`` the fund
  never had;
- ICBC statement: the fund's placements and interest lines as the bank books them, then
  an interest line of 123.45 yuan the fund has not recorded, and a bank charge of 12.00
  yuan out of the account that the fund has no entry for.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledger.money import fen_to_yuan

AMOUNT_TYPO = 10_000
GHOST = "GHOST-{bank}-1"
UNRECORDED_INTEREST = 12_345
BANK_CHARGE = 1_200


def write_balances(session: Session, bank: str, as_of: dt.date, path: Path) -> dict:
    """A balances file of ``bank`` on ``as_of`` with the planted differences; returns what
    was planted: {type: [(contract, fund figure, bank figure)]}."""
    from ledger.recon.loans import outstanding_loans

    loans = sorted(outstanding_loans(session, as_of, bank=bank).values(), key=lambda f: f.loan_id)
    planted: dict[str, list] = {"amount_differs": [], "missing_at_bank": [],
                                "status_differs": [], "missing_in_fund": []}  # fmt: skip
    rows = []
    for n, f in enumerate(loans):
        principal, days, overdue = f.principal_outstanding, f.days_overdue, f.overdue_principal
        if n == 0:
            principal += AMOUNT_TYPO
            planted["amount_differs"].append((f.contract_no, f.principal_outstanding, principal))
        elif n == 1:
            planted["missing_at_bank"].append((f.contract_no, f.principal_outstanding, None))
            continue
        elif n == 2:
            days, overdue = (0, 0) if days else (45, min(principal, 100_000))
            planted["status_differs"].append((f.contract_no, f.days_overdue, days))
        rows.append((f.contract_no, principal, overdue, days))
    ghost = GHOST.format(bank=bank)
    rows.append((ghost, 500_000, 0, 0))
    planted["missing_in_fund"].append((ghost, None, 500_000))
    with path.open("w", encoding="gb18030", newline="") as out:
        w = csv.writer(out)
        w.writerow(["余额日期", "贷款合同号", "本金余额", "逾期本金", "逾期天数"])
        for contract, principal, overdue, days in rows:
            w.writerow([as_of.isoformat(), contract, fen_to_yuan(principal),
                        fen_to_yuan(overdue), days])  # fmt: skip
    return planted


def write_statement(session: Session, bank: str, start: dt.date, end: dt.date, path: Path):
    """ICBC-style statement of the city fund's special account at ``bank`` for
    [start, end]: every posting on it as a line (the fund's interest with its own
    reference), then the planted unrecorded interest and bank charge on ``end``."""
    from ledger.chart import special_account
    from ledger.models import Account, JournalEntry, Posting

    account = session.scalar(select(Account).where(Account.code == special_account(bank)))
    opening = session.scalar(
        select(func.coalesce(func.sum(Posting.amount * _sign()), 0)).where(
            Posting.account_id == account.id, Posting.effective_date < start
        )
    )
    rows = []
    balance = int(opening)
    postings = session.execute(
        select(Posting.effective_date, Posting.side, Posting.amount, JournalEntry.id,
               JournalEntry.idempotency_key)
        .join(JournalEntry, JournalEntry.id == Posting.entry_id)
        .where(Posting.account_id == account.id, Posting.effective_date.between(start, end))
        .order_by(Posting.effective_date, Posting.id)
    ).all()  # fmt: skip
    for _n, (on, side, amount, entry_id, key) in enumerate(postings):
        direction = "C" if side == "D" else "D"
        balance += amount if direction == "C" else -amount
        ref = key.rsplit(":", 1)[1] if key and key.startswith("interest:") else f"B{entry_id:08d}"
        memo = "利息" if key and key.startswith("interest:") else "转账"
        rows.append((on, ref, direction, amount, balance, memo))
    balance += UNRECORDED_INTEREST
    rows.append((end, f"INT{end:%Y%m%d}", "C", UNRECORDED_INTEREST, balance, "利息"))
    balance -= BANK_CHARGE
    rows.append((end, f"FEE{end:%Y%m%d}", "D", BANK_CHARGE, balance, "手续费"))
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        w = csv.writer(out)
        w.writerow(["交易日期", "银行流水号", "借贷方向", "金额", "余额", "摘要"])
        for on, ref, direction, amount, bal, memo in rows:
            w.writerow([on.isoformat(), ref, direction, fen_to_yuan(amount), fen_to_yuan(bal),
                        memo])  # fmt: skip
    return rows


def _sign():
    from sqlalchemy import case

    from ledger.models import Posting

    return case((Posting.side == "D", 1), else_=-1)
