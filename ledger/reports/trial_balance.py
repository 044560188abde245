"""The trial balance (试算平衡表) and the balance sheet (资产负债表) as of any date, from
the books' balances by effective date (``ledger.balances``): the same whenever produced
for a date the books have closed through.

Trial balance — ``accounts``: every postable account with postings by the date, its
debit or credit balance, and the total; ``memorandum``: the off-balance-sheet accounts
(exposure, counter-guarantees) the same way; ``proof``: each part's debits − credits,
0 in balanced books.

Balance sheet — ``assets``, ``liabilities``, ``net_assets`` (capital, income, less
losses — named "减：", each line its account's balance: what the sources own) and
``memorandum``: the groups of the chart and, below a
group of banks' or sources' accounts, each one (a loan's own accounts are summed in
their group, never listed); ``proof``: assets − liabilities − net assets = 0.

Every balance drills to the ``postings`` list of its account through the date.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from ledger.balances import trial_balance
from ledger.models import Account, AccountType, Posting
from ledger.reports.anchor import anchor_for
from ledger.reports.common import money, parse_date, report, text
from ledger.reports.document import Report, Row, Section
from ledger.reports.general_ledger import drill

TB_KIND, TB_ZH, TB_EN = "trial-balance", "试算平衡表", "Trial balance"
BS_KIND, BS_ZH, BS_EN = "balance-sheet", "资产负债表", "Balance sheet"

TB_COLUMNS = (
    text("code", "科目代码", "Account"),
    text("name", "科目名称", "Name"),
    text("type", "类别", "Type"),
    money("debit", "借方余额", "Debit"),
    money("credit", "贷方余额", "Credit"),
)
TB_PROOF_COLUMNS = (
    text("part", "部分", "Part"),
    money("debit", "借方合计", "Debits"),
    money("credit", "贷方合计", "Credits"),
    money("difference", "差额", "Difference"),
)
BS_COLUMNS = (
    text("code", "科目代码", "Account"),
    text("name", "科目名称", "Name"),
    money("balance", "余额", "Balance"),
)
BS_PROOF_COLUMNS = (
    money("assets", "资产合计", "Assets"),
    money("liabilities", "负债合计", "Liabilities"),
    money("net_assets", "净资产合计", "Net assets"),
    money("difference", "差额", "Difference"),
)
TYPES_ZH = {
    "asset": "资产",
    "liability": "负债",
    "capital": "资本",
    "income": "收入",
    "expense": "损失",
    "memorandum": "备查",
}
#: A loan's own account (``…:L12``): summed in its group, never a line of its own.
_LOAN = re.compile(r":L\d+$")


def trial_balance_report(session: Session, as_of: dt.date) -> Report:
    anchor = anchor_for(session, as_of)
    tb = trial_balance(session, as_of=as_of)
    memo = AccountType.MEMORANDUM.value
    sections = []
    proof = []
    for key, zh, en, is_memo in (
        ("accounts", "科目余额", "Accounts", False),
        ("memorandum", "备查登记", "Memorandum accounts", True),
    ):
        rows = [
            Row(
                (x.code, x.name, TYPES_ZH.get(x.type, x.type), x.debit, x.credit),
                (None, None, None, *_balance_drills(x, as_of)),
            )
            for x in tb.lines
            if (x.type == memo) == is_memo
        ]
        debit, credit = tb.total(memorandum=is_memo)
        rows.append(Row(("", "合计", "", debit, credit), total=True))
        sections.append(Section(key, zh, en, TB_COLUMNS, tuple(rows)))
        proof.append(Row((zh, debit, credit, debit - credit)))
    sections.append(
        Section(
            "proof",
            "平衡检查：借方 = 贷方",
            "Proof: debits = credits",
            TB_PROOF_COLUMNS,
            tuple(proof),
        )
    )
    return report(TB_KIND, TB_ZH, TB_EN, {"as_of": as_of.isoformat()}, sections, anchor)


@dataclass(frozen=True)
class _Balance:
    name: str
    normal_side: str
    debits: int
    credits: int

    @property
    def balance(self) -> int:
        net = self.debits - self.credits
        return net if self.normal_side == "D" else -net


def _upper_balances(session: Session, as_of: dt.date) -> dict[str, _Balance]:
    """The accounts of the top three levels that are not a loan's own, with the debits and
    credits of their subtrees by the date — those with any. (``ledger.balances.balances``
    reads every account, a loan's too: 200,000 of them in a city of 100,000 loans.)"""
    depth = func.length(Account.code) - func.length(func.replace(Account.code, ":", ""))
    named = {
        code: (name, side)
        for code, name, side in session.execute(
            select(Account.code, Account.name, Account.normal_side).where(depth <= 2)
        )
        if not _LOAN.search(code)
    }
    totals: dict[str, list[int]] = {}
    debit = func.sum(case((Posting.side == "D", Posting.amount), else_=0))
    credit = func.sum(case((Posting.side == "C", Posting.amount), else_=0))
    for code, d, c in session.execute(
        select(Account.code, debit, credit)
        .join(Posting, Posting.account_id == Account.id)
        .where(Posting.effective_date <= as_of)
        .group_by(Account.code)
    ):
        parts = code.split(":")
        for n in range(1, min(len(parts), 3) + 1):
            prefix = ":".join(parts[:n])
            if prefix in named:
                total = totals.setdefault(prefix, [0, 0])
                total[0] += int(d or 0)
                total[1] += int(c or 0)
    return {
        code: _Balance(named[code][0], named[code][1], d, c)
        for code, (d, c) in totals.items()
        if d or c
    }


def _balance_drills(line, as_of: dt.date) -> tuple:
    """The drill of the cell that holds the balance (the debit one when it is 0)."""
    to = drill([line.code], end=as_of)
    return (None, to) if line.credit else (to, None)


def balance_sheet_report(session: Session, as_of: dt.date) -> Report:
    anchor = anchor_for(session, as_of)
    accounts = _upper_balances(session, as_of)

    def lines(root: str) -> list[Row]:
        """``root``'s groups (second level) and, below a group, each of its accounts
        (third level), with postings by the date."""
        rows = []
        for code in sorted(accounts):
            depth = code.count(":")
            if not code.startswith(root + ":") or depth > 2:
                continue
            b = accounts[code]
            rows.append(
                Row(
                    (code, ("　" if depth > 1 else "") + b.name, b.balance),
                    (None, None, drill([code], end=as_of)),
                )
            )
        return rows

    def total(root: str, zh: str) -> tuple[Row, int]:
        b = accounts.get(root)
        fen = b.balance if b else 0
        return Row((root, zh, fen), (None, None, drill([root], end=as_of)), total=True), fen

    assets_total, held = total("asset", "资产合计")
    liabilities_total, owed = total("liability", "负债合计")
    # Net assets: capital and income, less losses (shown as the positive balances they
    # are, named "减：", so that each line is its account's balance).
    equity = []
    own = 0
    for root, sign in (("capital", 1), ("income", 1), ("expense", -1)):
        line, fen = total(root, "")
        if root in accounts:
            name = accounts[root].name if sign > 0 else f"减：{accounts[root].name}"
            equity.append(Row((root, name, fen), line.drills))
            equity += lines(root)
        own += sign * fen
    memo = [
        row
        for row in lines("memo")
        if accounts[row.cells[0]].normal_side == "D"  # the contra accounts mirror them
    ]
    sections = [
        Section("assets", "资产", "Assets", BS_COLUMNS, (*lines("asset"), assets_total)),
        Section("liabilities", "负债", "Liabilities", BS_COLUMNS,
                (*lines("liability"), liabilities_total)),
        Section("net_assets", "净资产", "Net assets", BS_COLUMNS,
                (*equity, Row(("", "净资产合计", own), total=True))),
        Section("memorandum", "表外备查", "Memorandum", BS_COLUMNS, tuple(memo)),
        Section("proof", "平衡检查：资产 = 负债 + 净资产",
                "Proof: assets = liabilities + net assets", BS_PROOF_COLUMNS,
                (Row((held, owed, own, held - owed - own)),)),
    ]  # fmt: skip
    return report(BS_KIND, BS_ZH, BS_EN, {"as_of": as_of.isoformat()}, sections, anchor)


def trial_balance_from_params(session: Session, params: Mapping[str, object]) -> Report:
    return trial_balance_report(session, parse_date(params, "as_of"))


def balance_sheet_from_params(session: Session, params: Mapping[str, object]) -> Report:
    return balance_sheet_report(session, parse_date(params, "as_of"))


def period(params: Mapping[str, object]) -> tuple[dt.date | None, dt.date]:
    return None, parse_date(params, "as_of")
