"""The demo banks' reconciliation files with planted differences, made from the fund's own
figures.

**One file each** (:func:`write_balances`, :func:`write_statement`): a balances file of a
bank at the end of the books and ICBC's special-account statement for the days after,
with the mistakes a bank's files really carry:

- balances: the first loan of each bank off by 100.00 yuan (an amount typo); the second
  missing from the bank's file; the third reported 45 days overdue while the fund has it
  current (or current while the fund has it overdue); a loan ``GHOST-{BANK}-1`` the fund
  never had;
- ICBC statement: the fund's placements and interest lines as the bank books them, then
  an interest line of 123.45 yuan the fund has not recorded, and a bank charge of 12.00
  yuan out of the account that the fund has no entry for.

**A month** (:func:`write_month`): every file the three banks send over a month, written
into one folder per day of arrival, for the drop folder and the scheduler's jobs (see
docs/reconciliation.md, "A month of the demo banks' files"). The month is the last month
of the demo's history (the month of its latest entry: June 2026 for ``init --demo``):
its business — repayments, disbursements, the quarter's deposit interest on the 21st —
is already in the books, played through the fund's operations like every day before it,
so each file is made from the fund's figures as of its own day and nothing is posted to
make it. A later month would have no business at all; making some would post into books
that every other demo command reads as they are.

Each bank sends, for each working day, the statement of the city fund's special account
(XLSX: the lines booked since its previous working day's statement, so Monday's holds
the weekend's; a day without lines is a sheet with its header alone, named for its day,
so that no two days' files are the same bytes) and, every Friday and on the month's last
day, a loan balances file (GB18030 CSV). Planted, by position so that any month has
them (for June 2026 the dates in brackets):

- ABC's balances from the 1st Friday on (06-05): a loan missing from the bank's file —
  ``missing_at_bank``, open;
- RCB's balances of the 1st Friday only: a loan 100.00 yuan too high, right again in the
  2nd Friday's file — ``amount_differs``, resolved by that file (06-12);
- ICBC's balances from the 2nd Friday on (06-12): a loan 100.00 yuan too high —
  ``amount_differs``, open, one break seen in four files;
- RCB's balances from the 3rd Friday on (06-19): a current loan reported 45 days overdue
  — ``status_differs``, open;
- ABC's balances from the 4th Friday on (06-26): ``GHOST-ABC-1`` of 5,000.00 yuan, a
  loan the fund never had — ``missing_in_fund``, open;
- RCB's statement of the 3rd working day (06-03): a credit of 5,000.00 yuan the fund
  has no entry for — ``missing_in_fund``;
- ABC's statement of the 7th working day (06-09): a bank charge of 12.00 yuan —
  ``missing_in_fund``;
- ICBC's statement of the 5th working day from the end (06-24): deposit interest of
  123.45 yuan the fund has not recorded — ``interest_unrecorded``.

A planted statement line moves the bank's balance away from the fund's for good, so that
statement's closing balance, and the opening and closing of each later statement day
with lines, differ too (``balance_differs``; the plan computes them from the fund's
balance and the bank's). The arrivals: every file on its own day, except ABC's statement
of the 7th working day, two days late (06-11; its ``file-missing`` alert is raised the
day after the day it is of); RCB's of the 13th (06-17), never (its alert); ICBC's
balances of the 2nd Friday, again on the next working day (06-15: the same bytes, a
duplicate); and ICBC's statement with the planted interest, first with 收 for 贷 in its
direction column (rejected), corrected the next day (06-25) under sequence number 2.
:class:`Month` states every file, break and alert.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledger.chart import CITY_FUND
from ledger.money import fen_to_yuan, format_yuan

AMOUNT_TYPO = 10_000
GHOST = "GHOST-{bank}-1"
UNRECORDED_INTEREST = 12_345
BANK_CHARGE = 1_200


def write_balances(session: Session, bank: str, as_of: dt.date, path: Path) -> dict:
    """A balances file of ``bank`` on ``as_of`` with the planted differences; returns what
    was planted: {type: [(contract, fund figure, bank figure)]}."""
    from ledger.fund.positions import outstanding_loans

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


# ------------------------------------------------------------------------ a month of files

#: The drop folder's file names: ``{BANK}_{kind}_{YYYYMMDD}_{seq}.{ext}``.
EXT = {"balances": "csv", "statement": "xlsx"}
#: A credit on RCB's statement the fund has no entry for (fen).
STRAY_CREDIT = 500_000
#: The days overdue a bank reports for a current loan (the status difference).
BANK_DAYS_OVERDUE = 45
#: The late file comes this many days after its day.
LATE_DAYS = 2


@dataclass(frozen=True)
class MonthFile:
    """One file of the month as it reaches the drop folder."""

    bank: str
    kind: str
    #: The day it is of: the date in its name.
    day: dt.date
    seq: int
    #: The day it lands in the drop folder; None: it never does.
    arrives_on: dt.date | None
    #: What is special about it: ``late``, ``missing``, ``duplicate`` (the second copy),
    #: ``wrong`` (rejected), ``corrected`` (the wrong one's correction); "" for none.
    note: str = ""

    @property
    def name(self) -> str:
        return f"{self.bank}_{self.kind}_{self.day:%Y%m%d}_{self.seq}.{EXT[self.kind]}"


@dataclass(frozen=True)
class PlantedBreak:
    """A break the month's reconciliations must find, as it stands at the month's end.

    ``found_on`` and ``last_seen_on`` are the reconciliation's dates: a balances file's
    date, the last line date of a statement file. Figures are fen, those of the last
    sighting."""

    type: str
    source: str
    bank: str
    fund: str
    #: The loan's contract number, or the special account's number.
    subject: str
    #: A statement line's bank reference, ``opening:``/``closing:`` and a date; "" else.
    ref: str
    fund_figure: int | None
    bank_figure: int | None
    found_on: dt.date
    last_seen_on: dt.date
    fund_days: int | None = None
    bank_days: int | None = None
    #: ``open``, or ``resolved`` by the bank's next file that no longer has it.
    status: str = "open"
    resolved_on: dt.date | None = None
    #: What was planted, in English.
    what: str = ""

    @property
    def difference(self) -> int:
        return (self.bank_figure or 0) - (self.fund_figure or 0)


@dataclass(frozen=True)
class ExpectedAlert:
    kind: str
    #: The alert's key: ``{BANK}:{kind}:{YYYY-MM-DD}`` for a file-missing alert.
    key: str
    raised_on: dt.date


@dataclass(frozen=True)
class Month:
    """What :func:`write_month` wrote and planted: every file with its arrival, every
    break the month's reconciliations must find (with the balance differences a planted
    statement line brings about), and the ``file-missing`` alerts the expected-files
    check must raise when configured as :meth:`expected_files` says."""

    first: dt.date
    last: dt.date
    folder: Path
    files: tuple[MonthFile, ...]
    breaks: tuple[PlantedBreak, ...]
    alerts: tuple[ExpectedAlert, ...]

    @property
    def key(self) -> str:
        return f"{self.first:%Y-%m}"

    @property
    def days(self) -> list[dt.date]:
        return [self.first + dt.timedelta(days=n) for n in range((self.last - self.first).days + 1)]

    @property
    def banks(self) -> tuple[str, ...]:
        return tuple(sorted({f.bank for f in self.files}))

    def arriving_on(self, day: dt.date) -> list[MonthFile]:
        return [f for f in self.files if f.arrives_on == day]

    def path(self, f: MonthFile) -> Path:
        """Where the file waits: in the folder of its arrival day."""
        return self.folder / f"{f.arrives_on}" / f.name

    def one(self, note: str) -> MonthFile:
        (found,) = [f for f in self.files if f.note == note]
        return found

    def expected_files(self) -> dict:
        """The ``[expected_files]`` configuration the alerts are expected under: each
        bank's statement every working day, due the day after."""
        return {
            bank: {"daily": ["statement"], "working_days": True, "due_days": 1}
            for bank in self.banks
        }


def last_month(session: Session) -> tuple[dt.date, dt.date]:
    """The first and last day of the month of the books' latest entry."""
    from ledger.models import JournalEntry

    latest = session.scalar(select(func.max(JournalEntry.effective_date)))
    if latest is None:
        raise ValueError("the books hold no entry: build the demo first")
    first = latest.replace(day=1)
    return first, (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)


def write_month(session: Session, folder: Path, *, month: str | None = None) -> Month:
    """Write a month of the demo banks' files into ``folder``, one folder per day of
    arrival (``folder/2026-06-11/ABC_statement_20260609_1.xlsx``), and return what was
    planted (see the module's doc). ``month`` (``YYYY-MM``) defaults to the last month of
    the books (:func:`last_month`)."""
    from ledger.fund.models import Bank

    if month is None:
        first, last = last_month(session)
    else:
        first = dt.date.fromisoformat(f"{month}-01")
        last = (first + _days(32)).replace(day=1) - _days(1)
    banks = dict(session.execute(select(Bank.code, Bank.special_account_no)).all())
    if not set(BANKS) <= set(banks):
        raise ValueError("the month's plan is the demo city's: it needs ICBC, ABC and RCB")
    plan = _Plan(first, last)
    files = [f for bank in sorted(BANKS) for f in plan.files(bank)]

    def copies(bank: str, kind: str, day: dt.date) -> Iterator[tuple[Path, bool]]:
        """Where to write the file of ``bank``, ``kind`` and ``day``, once for each time
        it arrives, and whether that copy is the wrong one."""
        for f in files:
            if (f.bank, f.kind, f.day) == (bank, kind, day) and f.arrives_on is not None:
                path = folder / f"{f.arrives_on}" / f.name
                path.parent.mkdir(parents=True, exist_ok=True)
                yield path, f.note == "wrong"

    breaks: list[PlantedBreak] = []
    for bank in sorted(BANKS):
        breaks += _balances_files(session, bank, plan, copies)
        breaks += _statements(session, bank, banks[bank], plan, copies)
    alerts = tuple(
        ExpectedAlert("file-missing", f"{bank}:statement:{day}", day + _days(1))
        for bank, day in sorted((plan.late, plan.missing))
    )
    order = sorted(files, key=lambda f: (f.arrives_on or dt.date.max, f.name, f.note))
    return Month(first, last, folder, tuple(order), tuple(breaks), alerts)


BANKS = ("ABC", "ICBC", "RCB")
#: The loan differences planted in the balances files: (bank, type, the first and the
#: last balances day it is in, as positions among the month's balances days).
LOAN_PLANTS = (
    ("ABC", "missing_at_bank", 0, -1),
    ("RCB", "amount_differs", 0, 0),
    ("ICBC", "amount_differs", 1, -1),
    ("RCB", "status_differs", 2, -1),
    ("ABC", "missing_in_fund", -2, -1),
)


class _Plan:
    """Where the month's differences and mishaps fall: positions among its working days
    and its balances days (each Friday and the last day), so any month has them."""

    def __init__(self, first: dt.date, last: dt.date):
        days = [first + _days(n) for n in range((last - first).days + 1)]
        self.first, self.last = first, last
        self.working = working = [d for d in days if d.weekday() < 5]
        self.balances_days = sorted({d for d in days if d.weekday() == 4} | {last})
        #: The file of that bank, kind and day arrives twice.
        self.duplicate = ("ICBC", "balances", self.balances_days[1])
        #: (bank, day) of the statement that comes late, never, and wrong first.
        self.late = ("ABC", working[6])
        self.missing = ("RCB", working[12])
        self.wrong = ("ICBC", working[-5])
        #: Statement lines the fund has no entry for: (bank, day) → signed fen, memo, type.
        self.lines = {
            ("RCB", working[2]): (STRAY_CREDIT, "转账", "missing_in_fund"),
            ("ABC", working[6]): (-BANK_CHARGE, "手续费", "missing_in_fund"),
            ("ICBC", working[-5]): (UNRECORDED_INTEREST, "利息", "interest_unrecorded"),
        }

    def loan_plants(self, bank: str) -> list[tuple[str, list[dt.date]]]:
        """(type, the balances days it is in) of each loan difference planted at ``bank``."""
        days = self.balances_days
        return [
            (kind, days[since : len(days) + until + 1 if until < 0 else until + 1])
            for who, kind, since, until in LOAN_PLANTS
            if who == bank
        ]

    def files(self, bank: str) -> list[MonthFile]:
        out = []
        for day in self.balances_days:
            out.append(MonthFile(bank, "balances", day, 1, day))
            if (bank, "balances", day) == self.duplicate:
                again = next(d for d in self.working if d > day)
                out.append(MonthFile(bank, "balances", day, 1, again, "duplicate"))
        for day in self.working:
            if (bank, day) == self.late:
                out.append(MonthFile(bank, "statement", day, 1, day + _days(LATE_DAYS), "late"))
            elif (bank, day) == self.missing:
                out.append(MonthFile(bank, "statement", day, 1, None, "missing"))
            elif (bank, day) == self.wrong:
                out.append(MonthFile(bank, "statement", day, 1, day, "wrong"))
                out.append(MonthFile(bank, "statement", day, 2, day + _days(1), "corrected"))
            else:
                out.append(MonthFile(bank, "statement", day, 1, day))
        return out


def _days(n: int) -> dt.timedelta:
    return dt.timedelta(days=n)


# -- balances


def _balances_files(session: Session, bank: str, plan: _Plan, copies) -> list[PlantedBreak]:
    """Write each balances file of ``bank``: the fund's loans outstanding on its day with
    the planted differences; return the breaks they make, as at the month's end."""
    from ledger.fund.positions import outstanding_loans

    dates = plan.balances_days
    present = {d: outstanding_loans(session, d, bank=bank) for d in dates}
    plants = _loans_planted_on(bank, plan, present)
    sightings: dict[tuple[str, str], list[PlantedBreak]] = defaultdict(list)
    for day in dates:
        loans = sorted(present[day].values(), key=lambda f: f.loan_id)
        rows = {
            f.contract_no: [f.principal_outstanding, f.overdue_principal, f.days_overdue]
            for f in loans
        }
        for kind, contract, days in plants:
            if day in days:
                found = _plant_loan(kind, bank, day, contract, present[day].get(contract), rows)
                sightings[(kind, contract)].append(found)
        for path, _wrong in copies(bank, "balances", day):
            _write_balances_rows(path, day, rows)
    out = []
    for seen in sightings.values():
        first, final = seen[0], seen[-1]
        at_end = {"found_on": first.found_on, "last_seen_on": final.found_on}
        if final.found_on != dates[-1]:  # the bank's next file no longer has it
            resolved_on = next(d for d in dates if d > final.found_on)
            at_end.update(status="resolved", resolved_on=resolved_on)
        out.append(replace(final, **at_end))
    return out


def _loans_planted_on(bank: str, plan: _Plan, present: dict) -> list[tuple]:
    """(type, contract, balances days) of each loan difference planted at ``bank``: each
    on the loan of lowest id outstanding (and, for a status, current) on all its days;
    a loan the fund never had is ``GHOST-{BANK}-1``."""
    chosen: list[tuple] = []
    for kind, days in plan.loan_plants(bank):
        if kind == "missing_in_fund":
            chosen.append((kind, GHOST.format(bank=bank), days))
            continue
        taken = {contract for _kind, contract, _days in chosen}
        candidates = [
            f for f in present[days[0]].values()
            if f.contract_no not in taken
            and all(f.contract_no in present[d] for d in days)
            and (kind != "status_differs"
                 or all(present[d][f.contract_no].days_overdue == 0 for d in days))
        ]  # fmt: skip
        if not candidates:
            raise ValueError(f"{bank} has no loan to plant {kind} on from {days[0]}")
        chosen.append((kind, min(candidates, key=lambda f: f.loan_id).contract_no, days))
    return chosen


def _plant_loan(kind: str, bank: str, day: dt.date, contract: str, f, rows: dict):
    """Change the bank's ``rows`` as planted; return the break it makes on ``day``."""
    fund = f.fund if f is not None else CITY_FUND
    days = {}
    if kind == "missing_in_fund":
        rows[contract] = [500_000, 0, 0]
        figures, what = (None, 500_000), "a loan the fund never had"
    elif kind == "missing_at_bank":
        del rows[contract]
        figures, what = (f.principal_outstanding, None), "the loan is missing at the bank"
    elif kind == "amount_differs":
        rows[contract][0] += AMOUNT_TYPO
        figures = (f.principal_outstanding, rows[contract][0])
        what = "the bank's principal outstanding is 100.00 yuan too high"
    else:
        overdue = min(f.principal_outstanding, 100_000)
        rows[contract][1:] = [overdue, BANK_DAYS_OVERDUE]
        figures = (f.overdue_principal, overdue)
        days = {"fund_days": f.days_overdue, "bank_days": BANK_DAYS_OVERDUE}
        what = f"the bank reports the current loan {BANK_DAYS_OVERDUE} days overdue"
    return PlantedBreak(
        kind, "balances", bank, fund, contract, "", *figures, day, day, what=what, **days
    )


def _write_balances_rows(path: Path, as_of: dt.date, rows: dict[str, list[int]]) -> None:
    with path.open("w", encoding="gb18030", newline="") as out:
        w = csv.writer(out)
        w.writerow(["余额日期", "贷款合同号", "本金余额", "逾期本金", "逾期天数"])
        for contract, (principal, overdue, days) in rows.items():
            w.writerow([as_of.isoformat(), contract, fen_to_yuan(principal),
                        fen_to_yuan(overdue), days])  # fmt: skip


# -- statements


@dataclass(frozen=True)
class _Line:
    booked_on: dt.date
    ref: str
    #: Signed fen: money in positive.
    amount: int
    memo: str
    planted: str = ""


def _statements(session: Session, bank: str, account_no: str, plan: _Plan, copies) -> list:
    """Write each statement of ``bank``'s city special account: the fund's postings on it
    as the bank books them, and the planted lines; return the breaks the reconciliation
    of each statement that arrives must find."""
    first, last = plan.first, plan.working[-1]
    opening, postings = _special_account(session, bank, first, last)
    lines: list[_Line] = []
    for on, amount, key in postings:
        interest = bool(key and key.startswith(f"interest:{bank}:"))
        ref = key.split(":", 2)[2] if interest else _ref(bank, on, lines)
        lines.append(_Line(on, ref, amount, "利息" if interest else "转账"))
    for (who, on), (amount, memo, kind) in sorted(plan.lines.items()):
        if who == bank:
            _check_unmatchable(bank, on, amount, postings)
            lines.append(_Line(on, _ref(bank, on, lines), amount, memo, kind))
    lines.sort(key=lambda line: line.booked_on)  # stable: the fund's lines first each day
    # The running balances at the bank, and of the fund, at the end of each day.
    balance, fund, bank_at = {}, {first - _days(1): opening}, {first - _days(1): opening}
    running, fund_running = opening, opening
    day = first
    for line in lines:
        while day < line.booked_on:
            fund[day], bank_at[day] = fund_running, running
            day += _days(1)
        running += line.amount
        fund_running += 0 if line.planted else line.amount
        balance[line] = running
    while day <= last:
        fund[day], bank_at[day] = fund_running, running
        day += _days(1)
    breaks = []
    previous = first - _days(1)
    for day in plan.working:
        its = [line for line in lines if previous < line.booked_on <= day]
        previous = day
        rows = [(line, balance[line]) for line in its]
        for path, wrong in copies(bank, "statement", day):
            _write_statement_sheet(path, day, account_no, rows, wrong=wrong)
        if its and (bank, day) != plan.missing:
            breaks += _statement_breaks(bank, account_no, its, fund, bank_at)
    return breaks


def _special_account(session: Session, bank: str, first: dt.date, last: dt.date):
    """The city fund's special account at ``bank``: its balance before ``first``, and its
    postings from ``first`` to ``last`` as (day, signed fen, entry key)."""
    from ledger.chart import special_account
    from ledger.models import Account, JournalEntry, Posting

    account_id = session.scalar(select(Account.id).where(Account.code == special_account(bank)))
    signed = _sign() * Posting.amount
    opening = session.scalar(
        select(func.coalesce(func.sum(signed), 0)).where(
            Posting.account_id == account_id, Posting.effective_date < first
        )
    )
    postings = session.execute(
        select(Posting.effective_date, signed, JournalEntry.idempotency_key)
        .join(JournalEntry, JournalEntry.id == Posting.entry_id)
        .where(Posting.account_id == account_id, Posting.effective_date.between(first, last))
        .order_by(Posting.effective_date, Posting.id)
    ).all()  # fmt: skip
    return int(opening), [(on, int(amount), key) for on, amount, key in postings]


def _ref(bank: str, on: dt.date, lines: list[_Line]) -> str:
    """The bank's reference of its next line of the day: ``{BANK}{YYYYMMDD}{nnnn}``."""
    return f"{bank}{on:%Y%m%d}{sum(1 for line in lines if line.booked_on == on) + 1:04d}"


def _statement_breaks(bank, account_no, lines: list[_Line], fund, bank_balance) -> list:
    """What reconciling one statement file finds: its planted lines, and its opening
    and each of its days' closing balance where the bank's differs from the fund's."""
    found_on = lines[-1].booked_on
    out = []
    for line in lines:
        if line.planted:
            out.append(
                PlantedBreak(
                    line.planted, "statement", bank, CITY_FUND, account_no, line.ref, None,
                    line.amount, found_on, found_on, what=f"a statement line ({line.memo}) "
                    "the fund has no entry for",
                )
            )  # fmt: skip
    checks = [("opening", lines[0].booked_on - _days(1))]
    checks += [("closing", d) for d in sorted({line.booked_on for line in lines})]
    for what, day in checks:
        if fund[day] != bank_balance[day]:
            out.append(
                PlantedBreak(
                    "balance_differs", "statement", bank, CITY_FUND, account_no,
                    f"{what}:{day}", fund[day], bank_balance[day], found_on, found_on,
                    what=f"the {what} balance carries the planted lines before it",
                )
            )  # fmt: skip
    return out


def _check_unmatchable(bank: str, on: dt.date, amount: int, postings) -> None:
    """Refuse a planted amount the matching could pair with the fund's entries near it
    (one of the same amount, or a day's entries of its direction summed)."""
    from ledger.recon.statement import WINDOW_DAYS

    near = [(d, a) for d, a, _key in postings if abs((d - on).days) <= WINDOW_DAYS]
    sums: dict[dt.date, int] = defaultdict(int)
    for d, a in near:
        if (a > 0) == (amount > 0):
            sums[d] += a
    if any(a == amount for _, a in near) or amount in sums.values():
        raise ValueError(f"{bank}'s planted line of {on} could match the fund's entries")


def _write_statement_sheet(path: Path, day: dt.date, account_no: str, rows, *, wrong: bool):
    """An XLSX statement: a sheet named for its day (a day without lines is its header
    alone, and still a file of its own), amounts as text. ``wrong``: the direction as
    收/付, which the interface does not know."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet(f"{day:%Y%m%d}")
    sheet.append(["交易日期", "银行流水号", "借贷方向", "金额", "余额", "摘要", "账号"])
    words = ("收", "付") if wrong else ("贷", "借")
    for line, balance in rows:
        sheet.append([
            line.booked_on, line.ref, words[0] if line.amount > 0 else words[1],
            format_yuan(abs(line.amount)), format_yuan(balance), line.memo, account_no,
        ])  # fmt: skip
    book.save(path)
