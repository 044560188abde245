"""Special-account reconciliation: a bank's statement (专户对账单) against the fund's
postings on its special account(s) at that bank.

A line's account is its 账号 column: the bank's ``special_account_no`` is the city fund's,
a number recorded by :func:`record_special_account_number` a district fund's; a file
without the column is the city fund's. Per account:

1. the opening balance (the first line's balance before it) and each day's closing
   balance agree with the special account's balance as of that day;
2. lines are matched to the account's postings not matched before — by reference first
   (the fund's deposit interest carries the bank's 流水号 in its key), then one to one by
   direction and amount within ``window`` days (nearest date first), then a line against
   the sum of one day's postings in the same direction (a day's repayments or payments
   booked by the bank as one);
3. what is left is a break: a line the fund lacks (``missing_in_fund``; a deposit
   interest line, 摘要 containing 利息, is ``interest_unrecorded``: the proposed interest a
   clerk records with ``capital interest``), a posting in the file's days the bank lacks
   (``missing_at_bank``).
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import case, delete, func, select
from sqlalchemy.orm import Session

from ledger.bankfiles.models import BankStatementLine
from ledger.chart import CITY_FUND, special_account
from ledger.clock import utcnow
from ledger.fund.funds import get_fund
from ledger.fund.models import Bank
from ledger.fund.reference import Role, get_bank, require_bank_access, require_role
from ledger.models import Account, JournalEntry, Posting
from ledger.money import format_yuan
from ledger.recon.balances import stored_file
from ledger.recon.breaks import WORKERS, Finding, Recorded, open_in_scope, record_breaks
from ledger.recon.errors import ReconError
from ledger.recon.files import mark_reconciled
from ledger.recon.models import Break, BreakType, ReconMatch, SpecialAccountNumber
from ledger.rows import insert_rows

#: Days a line's date may be from its posting's, either way.
WINDOW_DAYS = 3


def record_special_account_number(
    session: Session, bank: str, fund: str, account_no: str, *, actor: str
) -> None:
    """Record the number of ``fund``'s special account at ``bank`` (an admin's)."""
    require_role(session, actor, Role.ADMIN)
    get_bank(session, bank)
    get_fund(session, fund)
    account_no = account_no.strip()
    if not account_no:
        raise ReconError("the account number is empty", zh="账号不能为空")
    session.add(
        SpecialAccountNumber(
            bank_code=bank, fund_code=fund, account_no=account_no, recorded_by=str(actor),
            recorded_at=utcnow(),
        )
    )  # fmt: skip
    session.flush()


def account_funds(session: Session, bank: str) -> dict[str | None, str]:
    """{account number: fund} of ``bank``'s special accounts (None: the city fund's)."""
    city = session.scalar(select(Bank.special_account_no).where(Bank.code == bank))
    found = {None: CITY_FUND, city: CITY_FUND}
    for no, fund in session.execute(
        select(SpecialAccountNumber.account_no, SpecialAccountNumber.fund_code).where(
            SpecialAccountNumber.bank_code == bank
        )
    ):
        found[no] = fund
    return found


@dataclass(frozen=True)
class StatementResult:
    import_id: int
    bank: str
    lines: int
    matched: dict[str, int]
    findings: tuple[Finding, ...]
    recorded: Recorded

    def counts(self) -> dict[str, int]:
        by_type: dict[str, int] = defaultdict(int)
        for f in self.findings:
            by_type[f.type] += 1
        matched = {f"matched_{k}": v for k, v in self.matched.items()}
        return {"lines": self.lines, **matched, **by_type, **self.recorded.counts()}


def reconcile_statement(
    session: Session, import_id: int, *, actor: str, window: int = WINDOW_DAYS
) -> StatementResult:
    """Reconcile the statement file ``import_id`` (see the module's doc)."""
    receipt = stored_file(session, import_id, "statement")
    bank = receipt.bank_code
    require_bank_access(session, actor, bank, *WORKERS, Role.SYSTEM)
    funds = account_funds(session, bank)
    ours = select(BankStatementLine.id).where(BankStatementLine.import_id == import_id)
    session.execute(delete(ReconMatch).where(ReconMatch.line_id.in_(ours)))  # a run again
    lines = session.execute(
        select(
            BankStatementLine.id, BankStatementLine.row, BankStatementLine.booked_on,
            BankStatementLine.bank_ref, BankStatementLine.direction, BankStatementLine.amount,
            BankStatementLine.balance, BankStatementLine.memo, BankStatementLine.account_no,
        )
        .where(BankStatementLine.import_id == import_id)
        .order_by(BankStatementLine.row)
    ).all()  # fmt: skip
    findings: list[Finding] = []
    per_fund: dict[str, list] = defaultdict(list)
    for line in lines:
        fund = funds.get(line.account_no)
        if fund is None:
            findings.append(
                Finding(
                    BreakType.UNKNOWN_ACCOUNT, bank, CITY_FUND, line.account_no,
                    line.booked_on, ref=line.bank_ref, bank_figure=_signed(line), row=line.row,
                    detail=f"account {line.account_no} is no fund's special account at {bank}",
                    detail_zh=f"账号 {line.account_no} 不是基金在 {bank} 的专户",
                )
            )  # fmt: skip
            continue
        per_fund[fund].append(line)
    matched = {"reference": 0, "amount": 0, "sum": 0}
    matches: list[dict] = []
    scope: list[int] = []
    for fund, its_lines in per_fund.items():
        account_no = its_lines[0].account_no or _city_no(funds)
        f, m = _reconcile_account(session, bank, fund, account_no, its_lines, window, matched)
        findings += f
        matches += m
        first, last = its_lines[0].booked_on, its_lines[-1].booked_on
        scope += open_in_scope(
            session, Break.source == "statement", Break.bank_code == bank,
            Break.fund_code == fund, Break.as_of.between(first, last),
        )  # fmt: skip
    insert_rows(session, ReconMatch.__table__, matches)
    found_on = max((line.booked_on for line in lines), default=receipt.uploaded_at.date())
    recorded = record_breaks(
        session, findings, source="statement", found_on=found_on, import_id=import_id,
        actor=actor, scope=scope,
    )  # fmt: skip
    mark_reconciled(session, import_id, len(findings), actor=actor)
    return StatementResult(import_id, bank, len(lines), matched, tuple(findings), recorded)


def _city_no(funds: dict) -> str:
    return next(no for no, f in funds.items() if f == CITY_FUND and no is not None)


def _signed(line) -> int:
    return line.amount if line.direction == "C" else -line.amount


def _reconcile_account(session, bank, fund, account_no, lines, window, matched):
    code = special_account(bank, fund)
    account_id = session.scalar(select(Account.id).where(Account.code == code))
    if account_id is None:
        raise ReconError(f"no special account {code}", zh=f"专户 {code} 不存在")
    first, last = lines[0].booked_on, lines[-1].booked_on
    lo, hi = first - dt.timedelta(days=window), last + dt.timedelta(days=window)
    signed = case((Posting.side == "D", Posting.amount), else_=-Posting.amount)
    opening_fund = int(
        session.scalar(
            select(func.coalesce(func.sum(signed), 0)).where(
                Posting.account_id == account_id, Posting.effective_date < first
            )
        )
    )
    # An entry matched to a line of another file is taken (one match an entry, by key).
    rows = session.execute(
        select(
            Posting.effective_date, signed, JournalEntry.id, JournalEntry.idempotency_key,
            ReconMatch.id.is_not(None),
        )
        .join(JournalEntry, JournalEntry.id == Posting.entry_id)
        .outerjoin(ReconMatch, ReconMatch.entry_id == Posting.entry_id)
        .where(
            Posting.account_id == account_id,
            Posting.effective_date.between(min(lo, first), hi),
        )
        .order_by(Posting.effective_date, Posting.id)
    ).all()  # fmt: skip
    postings = [r[:4] for r in rows]
    already = {r[2] for r in rows if r[4]}
    findings: list[Finding] = []
    # 1. balances: the opening, then each day's closing
    first_line = lines[0]
    opening_bank = first_line.balance - _signed(first_line)
    daily = defaultdict(int)
    for on, amount, _id, _key in postings:
        if first <= on <= last:
            daily[on] += amount
    closing_bank = {}
    for line in lines:
        closing_bank[line.booked_on] = line.balance
    checks = [(first - dt.timedelta(days=1), "opening", opening_fund, opening_bank)]
    running = opening_fund
    day = first
    while day <= last:
        running += daily.get(day, 0)
        if day in closing_bank:
            checks.append((day, "closing", running, closing_bank[day]))
        day += dt.timedelta(days=1)
    for on, what, mine, theirs in checks:
        if mine != theirs:
            findings.append(
                Finding(
                    BreakType.BALANCE_DIFFERS, bank, fund, account_no, on, ref=f"{what}:{on}",
                    fund_figure=mine, bank_figure=theirs,
                    detail=f"{what} balance on {on}: fund {format_yuan(mine)}, "
                    f"bank {format_yuan(theirs)}",
                    detail_zh=f"{on} {'期初' if what == 'opening' else '日终'}余额：基金 "
                    f"{format_yuan(mine)} 元，银行 {format_yuan(theirs)} 元",
                )
            )  # fmt: skip
    # 2. matching
    open_postings = {p[2]: p for p in postings if p[2] not in already}
    by_ref = {}
    for id_, (_on, _amount, _id, key) in open_postings.items():
        if key and key.startswith(f"interest:{bank}:"):
            by_ref[key.split(":", 2)[2]] = id_
    matches: list[dict] = []
    left = []
    for line in lines:
        id_ = by_ref.get(line.bank_ref)
        if id_ is not None and id_ in open_postings:
            posting = open_postings.pop(id_)
            matches.append({"line_id": line.id, "entry_id": id_, "how": "reference"})
            matched["reference"] += 1
            if posting[1] != _signed(line):
                findings.append(_differs(bank, fund, account_no, line, posting[1]))
        else:
            left.append(line)
    by_amount: dict[int, list[tuple[int, int, int]]] = defaultdict(list)
    for id_, (on, amount, _id, _key) in open_postings.items():
        by_amount[amount].append((on.toordinal(), id_))
    for candidates in by_amount.values():
        candidates.sort()
    still = []
    for line in left:
        candidates = by_amount.get(_signed(line))
        best = None
        if candidates:
            day = line.booked_on.toordinal()
            i = bisect_left(candidates, (day - window, 0))
            for j in range(i, len(candidates)):
                on, id_ = candidates[j]
                if on > day + window:
                    break
                if best is None or abs(on - day) < abs(candidates[best][0] - day):
                    best = j
        if best is None:
            still.append(line)
            continue
        _on, id_ = candidates.pop(best)
        open_postings.pop(id_)
        matches.append({"line_id": line.id, "entry_id": id_, "how": "amount"})
        matched["amount"] += 1
    # many to one: a line is one day's postings of the same direction, summed
    days: dict[tuple[dt.date, int], list[int]] = defaultdict(list)
    for id_, (on, amount, _id, _key) in open_postings.items():
        days[(on, 1 if amount > 0 else -1)].append(id_)
    unmatched = []
    for line in still:
        sign = 1 if line.direction == "C" else -1
        hit = None
        for offset in sorted(range(-window, window + 1), key=abs):
            on = line.booked_on + dt.timedelta(days=offset)
            ids = [i for i in days.get((on, sign), ()) if i in open_postings]
            if len(ids) > 1 and sum(open_postings[i][1] for i in ids) == _signed(line):
                hit = ids
                break
        if hit is None:
            unmatched.append(line)
            continue
        for id_ in hit:
            open_postings.pop(id_)
            matches.append({"line_id": line.id, "entry_id": id_, "how": "sum"})
        matched["sum"] += 1
    for line in unmatched:
        interest = line.direction == "C" and "利息" in (line.memo or "")
        kind = BreakType.INTEREST_UNRECORDED if interest else BreakType.MISSING_IN_FUND
        findings.append(
            Finding(
                kind, bank, fund, account_no, line.booked_on, ref=line.bank_ref,
                bank_figure=_signed(line), row=line.row,
                detail=f"statement line {line.bank_ref} of {format_yuan(line.amount)} has no "
                f"entry in the fund" + ("; proposed deposit interest" if interest else ""),
                detail_zh=f"对账单流水 {line.bank_ref} 金额 {format_yuan(line.amount)} 元，"
                "基金无对应记账" + ("，建议登记存款利息" if interest else ""),
            )
        )  # fmt: skip
    for id_, (on, amount, _id, _key) in sorted(open_postings.items()):
        if first <= on <= last:
            findings.append(
                Finding(
                    BreakType.MISSING_AT_BANK, bank, fund, account_no, on, ref=f"entry:{id_}",
                    fund_figure=amount,
                    detail=f"entry {id_} of {format_yuan(amount)} on {on} is not on the "
                    "bank's statement",
                    detail_zh=f"记账凭证 {id_}（{on}，{format_yuan(amount)} 元）不在银行对账单上",
                )
            )  # fmt: skip
    return findings, matches


def _differs(bank, fund, account_no, line, mine) -> Finding:
    return Finding(
        BreakType.AMOUNT_DIFFERS, bank, fund, account_no, line.booked_on, ref=line.bank_ref,
        fund_figure=mine, bank_figure=_signed(line), row=line.row,
        detail=f"statement line {line.bank_ref}: fund {format_yuan(mine)}, "
        f"bank {format_yuan(_signed(line))}",
        detail_zh=f"对账单流水 {line.bank_ref}：基金 {format_yuan(mine)} 元，"
        f"银行 {format_yuan(_signed(line))} 元",
    )  # fmt: skip
