"""Repayments and their reversals (冲正): one at a time, or a bank file's worth at once.

Both go through :func:`apply_repayments`. It reads the loans and the earlier rows the
lines refer to with a few set queries, checks every line in memory (rows of one loan in
date order, then in the order given), and writes only when no line is refused: the
repayment rows, one exposure entry per repayment date, the loans' running totals and
statuses, and the counter-guarantees released when a loan is repaid in full (held again
when a reversal re-opens it). A refused line is reported with its row, column and value,
and the batch writes nothing.

The fund's exposure on an active loan is always ``coverage × outstanding principal``,
rounded half up to the fen (``verify`` checks it), so each date's entry moves every loan
it touches from the share of its outstanding principal before to the share after.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from ledger.clock import business_today, utcnow
from ledger.fund.batches import LineError, Refused, post_exposure_moves
from ledger.fund.books import share
from ledger.fund.errors import (
    BalanceMismatchError,
    DuplicateReferenceError,
    RepaymentError,
    RowsRejectedError,
    StateError,
)
from ledger.fund.guarantees import (
    CounterGuaranteeSpec,
    register_counter_guarantee,
    release_counter_guarantees,
)
from ledger.fund.identity import normalize_id_number
from ledger.fund.leverage import effective_repayments
from ledger.fund.models import (
    LOAN_LIFECYCLE,
    Borrower,
    Commitment,
    CounterGuarantee,
    Loan,
    LoanStatus,
    Repayment,
)
from ledger.fund.reference import Role, refuse_future, require_bank_access
from ledger.money import format_yuan
from ledger.rows import among, chunks, insert_rows, update_rows

STATUS_ZH = LOAN_LIFECYCLE.names_zh


class RepaymentLine(NamedTuple):
    """One repayment as a bank reports it, or the reversal of one (``reversal_of``).

    On a reversal the amounts may be left ``None``: they are the original's. When given
    they must be the original's. (A named tuple: a bank file makes 100,000 of them.)
    """

    bank_ref: str
    contract_no: str
    paid_on: dt.date
    principal: int | None
    interest: int | None
    penalty: int | None = None
    id_number: str | None = None
    balance_after: int | None = None
    reversal_of: str | None = None
    #: Where the line came from (a file's row number), for the error report.
    row: int = 0


class LineResult(NamedTuple):
    repayment_id: int
    #: False when the line repeated a row posted before (same reference, same content).
    created: bool


class RepaymentBatch:
    """What a batch did: a result per line (in the lines' order) and the entries posted."""

    def __init__(self, outcomes: Sequence[_Outcome], entry_ids: tuple[int, ...]):
        self._outcomes, self.entry_ids = outcomes, entry_ids
        self.skipped = sum(o.existing is not None for o in outcomes)
        self.posted = len(outcomes) - self.skipped

    @functools.cached_property
    def results(self) -> tuple[LineResult, ...]:
        # Built when asked for: a bank file's import needs only the counts.
        return tuple(o.result() for o in self._outcomes)


def apply_repayments(
    session: Session,
    *,
    bank: str,
    lines: Sequence[RepaymentLine],
    actor: str,
    today: dt.date | None = None,
) -> RepaymentBatch:
    """Check every line, then post them all, or raise :class:`RowsRejectedError` with
    every refused line and write nothing. The scheduler (system) may post a bank's file."""
    require_bank_access(session, actor, bank, Role.CLERK, Role.APPROVER, Role.BANK, Role.SYSTEM)
    run = _Run(session, bank, today or business_today())
    run.load(lines)
    order = sorted(range(len(lines)), key=lambda n: (lines[n].paid_on, n))
    outcomes: dict[int, _Outcome] = {}
    errors: list[LineError] = []
    for n in order:
        try:
            outcomes[n] = run.apply(lines[n])
        except Refused as refused:
            errors.append(refused.at(lines[n]))
    if errors:
        errors.sort(key=lambda e: (e.row, _COLUMNS.index(e.column)))
        raise RowsRejectedError(errors)
    entry_ids = run.write(actor, [outcomes[n] for n in order])
    return RepaymentBatch([outcomes[n] for n in range(len(lines))], entry_ids)


def repay(
    session: Session,
    *,
    bank: str,
    bank_ref: str,
    contract_no: str,
    paid_on: dt.date,
    principal: int,
    interest: int,
    penalty: int = 0,
    id_number: str | None = None,
    balance_after: int | None = None,
    actor: str,
    today: dt.date | None = None,
) -> Repaid:
    """Record a repayment the bank reported; the exposure falls with the principal."""
    line = RepaymentLine(
        bank_ref, contract_no, paid_on, principal, interest, penalty, id_number, balance_after
    )
    return _one(session, bank, line, actor, today)


def reverse_repayment(
    session: Session,
    *,
    bank: str,
    bank_ref: str,
    reversal_of: str,
    on: dt.date,
    actor: str,
    contract_no: str | None = None,
    today: dt.date | None = None,
) -> Repaid:
    """Cancel an earlier repayment with a new reversal row; the exposure rises again."""
    line = RepaymentLine(bank_ref, contract_no, on, None, None, reversal_of=reversal_of)
    return _one(session, bank, line, actor, today)


@dataclass(frozen=True)
class Repaid:
    repayment: Repayment
    created: bool


def _one(session: Session, bank: str, line: RepaymentLine, actor: str, today) -> Repaid:
    try:
        batch = apply_repayments(session, bank=bank, lines=[line], actor=actor, today=today)
    except RowsRejectedError as rejected:
        raise rejected.errors[0].error from None
    result = batch.results[0]
    return Repaid(session.get(Repayment, result.repayment_id), result.created)


# ------------------------------------------------------------------------ the checks

#: References in a batch from which their range is scanned instead of each looked up.
_RANGE_PROBE_FROM = 100
#: References that order alike in code points and in any database collation.
_PLAIN_REF = re.compile(r"[0-9A-Z]+\Z")

_COLUMNS = (
    "bank_ref",
    "contract_no",
    "id_number",
    "paid_on",
    "principal",
    "interest",
    "penalty",
    "balance_after",
    "reversal_of",
)


@dataclass(slots=True)
class _Earlier:
    """A repayment row already in the books, or accepted earlier in this batch."""

    ref: str
    loan_id: int
    paid_on: dt.date
    principal: int
    interest: int
    penalty: int
    reversal_of: str | None
    id: int | None = None
    #: The reference of the reversal that cancelled it (in the books or in this batch).
    reversed_by: str | None = None


@dataclass(slots=True)
class _LoanState:
    id: int
    contract_no: str
    principal: int
    coverage_ppm: int
    status: str
    disbursed_on: dt.date
    id_number: str
    commitment_id: int
    repaid: int
    repaid_interest: int
    last_paid_on: dt.date | None
    repaid_on: dt.date | None
    fund_code: str
    start: tuple = ()
    #: The date a reversal re-opened the loan after it was repaid in full.
    reopened_on: dt.date | None = None
    #: Effective payments as (paid_on, principal, ref), loaded only when a line needs
    #: the balance through a date before the latest payment.
    payments: list[tuple[dt.date, int, str]] | None = None
    #: Changes of this batch, replayed onto ``payments`` when they are loaded later.
    changes: list[tuple[str, tuple]] = field(default_factory=list)

    def __post_init__(self):
        self.start = self.totals()

    def totals(self) -> tuple:
        return (self.status, self.repaid, self.repaid_interest, self.last_paid_on, self.repaid_on)

    @property
    def outstanding(self) -> int:
        return self.principal - self.repaid

    @property
    def exposure(self) -> int:
        return share(self.outstanding, self.coverage_ppm) if self.status == "active" else 0


@dataclass(slots=True)
class _Outcome:
    loan: _LoanState
    line: RepaymentLine
    ref: str
    #: The existing row repeated by this line (skipped), else None.
    existing: _Earlier | None = None
    earlier: _Earlier | None = None
    #: The repayment reversed by this line.
    original: _Earlier | None = None
    exposure_change: int = 0
    entry_id: int | None = None

    def result(self) -> LineResult:
        if self.existing is not None:
            return LineResult(self.existing.id, False)
        return LineResult(self.earlier.id, True)


class _Run:
    def __init__(self, session: Session, bank: str, today: dt.date):
        self.session, self.bank, self.today = session, bank, today
        self.loans: dict[str, _LoanState] = {}
        self.by_ref: dict[str, _Earlier] = {}

    # -- reading, a few set queries for the whole batch

    def load(self, lines: Sequence[RepaymentLine]) -> None:
        contracts = {(line.contract_no or "").strip() for line in lines} - {""}
        refs = {(r or "").strip() for line in lines for r in (line.bank_ref, line.reversal_of)}
        refs.discard("")
        self.session.flush()  # the set queries below run on the connection, not the ORM
        self._load_loans(contracts)
        self._load_refs(refs)

    def _load_loans(self, contracts: set[str]) -> None:
        columns = (
            Loan.id, Loan.contract_no, Loan.principal, Loan.coverage_ppm, Loan.status,
            Loan.disbursed_on, Borrower.id_number, Loan.commitment_id, Loan.repaid_principal,
            Loan.repaid_interest, Loan.last_paid_on, Loan.repaid_on, Loan.fund_code,
        )  # fmt: skip
        for chunk in chunks(sorted(contracts)):
            query = (
                select(*columns)
                .join(Borrower, Borrower.id == Loan.borrower_id)
                .where(Loan.bank_code == self.bank, among(self.session, Loan.contract_no, chunk))
                .order_by(Loan.id)
                .with_for_update(of=Loan.__table__)
            )
            for row in self.session.connection().execute(query):
                self.loans[row.contract_no] = _LoanState(*row)

    def _load_refs(self, refs: set[str]) -> None:
        rows = []
        for chunk in chunks(sorted(self._known(refs))):
            rows += self.session.execute(
                select(Repayment).where(Repayment.bank_code == self.bank)
                .where(among(self.session, Repayment.bank_ref, chunk))
            ).scalars().all()  # fmt: skip
        by_id = {row.id: row for row in rows}
        missing = {row.reversal_of_id for row in rows} - set(by_id) - {None}
        for chunk in chunks(sorted(missing)):
            for row in self.session.scalars(
                select(Repayment).where(among(self.session, Repayment.id, chunk))
            ):
                by_id[row.id] = row
        for row in by_id.values():
            original = by_id.get(row.reversal_of_id)
            self.by_ref[row.bank_ref] = _Earlier(
                row.bank_ref, row.loan_id, row.paid_on, row.principal, row.interest, row.penalty,
                original.bank_ref if original else None, row.id,
            )  # fmt: skip
        reversed_by = {}
        originals = [e.id for e in self.by_ref.values() if e.reversal_of is None]
        for chunk in chunks(originals):
            reversed_by.update(
                self.session.execute(
                    select(Repayment.reversal_of_id, Repayment.bank_ref).where(
                        among(self.session, Repayment.reversal_of_id, chunk)
                    )
                )
                .tuples()
                .all()
            )
        for earlier in self.by_ref.values():
            earlier.reversed_by = reversed_by.get(earlier.id)

    def _known(self, refs: set[str]) -> set[str]:
        """The ``refs`` the bank used before. A bank's references usually run in sequence,
        so one scan of the index over their range answers for all of them; only when the
        range holds many more references than asked about are they looked up one by one."""
        if len(refs) < _RANGE_PROBE_FROM:
            return refs
        if self.session.get_bind().dialect.name == "postgresql" and not all(
            _PLAIN_REF.match(ref) for ref in refs
        ):
            # The bounds in the database's own collation, which may not order as Python does.
            low, high = self.session.execute(
                text("SELECT min(r), max(r) FROM unnest(CAST(:refs AS VARCHAR[])) AS r"),
                {"refs": list(refs)},
            ).one()
        else:
            # SQLite's BINARY collation is code point order; so is every collation's for
            # references of upper-case letters and digits only (what banks use).
            low, high = min(refs), max(refs)
        limit = 2 * len(refs)
        in_range = (
            self.session.connection()
            .execute(
                select(Repayment.bank_ref)
                .where(Repayment.bank_code == self.bank, Repayment.bank_ref.between(low, high))
                .limit(limit + 1)
            )
            .scalars()
            .all()
        )
        return refs if len(in_range) > limit else refs & set(in_range)

    def _payments(self, loan: _LoanState) -> list[tuple[dt.date, int, str]]:
        if loan.payments is None:
            rows = self.session.execute(
                select(Repayment.paid_on, Repayment.principal, Repayment.bank_ref)
                .where(Repayment.loan_id == loan.id, effective_repayments())
                .order_by(Repayment.paid_on, Repayment.id)
            )
            loan.payments = [tuple(row) for row in rows]
            for what, item in loan.changes:
                self._change_payments(loan, what, item)
        return loan.payments

    @staticmethod
    def _change_payments(loan: _LoanState, what: str, item: tuple) -> None:
        if what == "add":
            loan.payments.append(item)
            loan.payments.sort(key=lambda p: p[0])
        else:
            loan.payments[:] = [p for p in loan.payments if p[2] != item[2]]

    def _record(self, loan: _LoanState, what: str, item: tuple) -> None:
        loan.changes.append((what, item))
        if loan.payments is not None:
            self._change_payments(loan, what, item)

    def _repaid_through(self, loan: _LoanState, on: dt.date) -> int:
        if loan.last_paid_on is None or on >= loan.last_paid_on:
            return loan.repaid
        return sum(p for paid_on, p, _ in self._payments(loan) if paid_on <= on)

    # -- checking one line against the state the earlier lines left

    def apply(self, line: RepaymentLine) -> _Outcome:
        ref = _ref(line.bank_ref, "bank_ref")
        reversal_of = _ref(line.reversal_of, "reversal_of") if line.reversal_of else None
        loan = self._loan(line, reversal_of)
        outcome = _Outcome(loan, line, ref)
        earlier = self.by_ref.get(ref)
        if earlier is not None:
            # The same row again (posted before, or earlier in this batch): skipped.
            if self._same(earlier, loan, line, reversal_of):
                outcome.existing = earlier
                return outcome
            raise Refused("bank_ref", _ref_conflict(self.bank, ref, earlier))
        if (
            line.id_number is not None
            and line.id_number != loan.id_number
            and normalize_id_number(line.id_number) != loan.id_number
        ):
            raise Refused(
                "id_number",
                RepaymentError(
                    f"ID number {normalize_id_number(line.id_number)} is not the borrower of "
                    f"loan {loan.contract_no}",
                    zh=f"身份证号 {normalize_id_number(line.id_number)} "
                    f"与贷款 {loan.contract_no} 的借款人不符",
                ),
            )
        if reversal_of is not None:
            self._reverse(outcome, reversal_of)
        else:
            self._repay(outcome)
        return outcome

    def _loan(self, line: RepaymentLine, reversal_of: str | None) -> _LoanState:
        contract = (line.contract_no or "").strip()
        if reversal_of is not None and not contract:
            original = self.by_ref.get(reversal_of)
            found = [s for s in self.loans.values() if original and s.id == original.loan_id]
            if not found and original is not None:
                found = [self._load_loan_by_id(original.loan_id)]
            if not found:
                raise _unknown_reversal(self.bank, reversal_of)
            return found[0]
        loan = self.loans.get(contract)
        if loan is None:
            raise Refused(
                "contract_no",
                StateError(
                    f"bank {self.bank} has no loan with contract number {contract}",
                    zh=f"{self.bank} 没有合同号为 {contract} 的贷款",
                ),
            )
        return loan

    def _load_loan_by_id(self, loan_id: int) -> _LoanState:
        contract = self.session.scalar(select(Loan.contract_no).where(Loan.id == loan_id))
        self._load_loans({contract})
        return self.loans[contract]

    def _same(self, earlier: _Earlier, loan, line: RepaymentLine, reversal_of) -> bool:
        if earlier.loan_id != loan.id or earlier.reversal_of != reversal_of:
            return False
        if earlier.paid_on != line.paid_on:
            return False
        amounts = (line.principal, line.interest, line.penalty)
        before = (earlier.principal, earlier.interest, earlier.penalty)
        if reversal_of is not None:  # a reversal may leave out amounts: they are the original's
            return all(a is None or a == b for a, b in zip(amounts, before, strict=True))
        return before == (
            line.principal,
            line.interest,
            line.penalty or 0,
        )

    def _repay(self, outcome: _Outcome) -> None:
        line, loan = outcome.line, outcome.loan
        penalty = 0 if line.penalty is None else line.penalty
        for column, value in (
            ("principal", line.principal),
            ("interest", line.interest),
            ("penalty", penalty),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise Refused(
                    column,
                    RepaymentError(
                        f"the repaid {column} must be 0 or more fen", zh="还款金额不能为负"
                    ),
                )
        if line.principal == line.interest == penalty == 0:
            raise Refused(
                "principal", RepaymentError("a repayment of nothing", zh="还款金额全部为零")
            )
        _check_active(loan, "repayment")
        if line.paid_on < loan.disbursed_on or line.paid_on > self.today:
            raise Refused(
                "paid_on",
                RepaymentError(
                    f"repayment date {line.paid_on} is before the disbursement on "
                    f"{loan.disbursed_on} or in the future",
                    zh=f"还款日期 {line.paid_on} 早于放款日 {loan.disbursed_on} 或晚于今天",
                ),
            )
        if line.principal > loan.outstanding:
            raise Refused(
                "principal",
                RepaymentError(
                    f"loan {loan.contract_no}: principal repaid {format_yuan(line.principal)} "
                    f"yuan is more than the {format_yuan(loan.outstanding)} yuan outstanding",
                    zh=f"贷款 {loan.contract_no} 归还本金 {format_yuan(line.principal)} 元"
                    f"超过本金余额 {format_yuan(loan.outstanding)} 元",
                ),
            )
        if line.balance_after is not None:
            expected = loan.principal - self._repaid_through(loan, line.paid_on) - line.principal
            self._check_balance(loan, line.balance_after, expected)
        before = loan.exposure
        loan.repaid += line.principal
        loan.repaid_interest += line.interest
        self._record(loan, "add", (line.paid_on, line.principal, outcome.ref))
        loan.last_paid_on = max(loan.last_paid_on or line.paid_on, line.paid_on)
        if loan.outstanding == 0:
            loan.status = LOAN_LIFECYCLE.move(loan.contract_no, loan.status, LoanStatus.REPAID)
            loan.repaid_on = loan.last_paid_on
        outcome.exposure_change = loan.exposure - before
        self._accept(
            outcome,
            _Earlier(
                outcome.ref, loan.id, line.paid_on, line.principal, line.interest, penalty, None
            ),
        )

    def _reverse(self, outcome: _Outcome, reversal_of: str) -> None:
        line, loan = outcome.line, outcome.loan
        original = self.by_ref.get(reversal_of)
        if original is None or original.reversal_of is not None:
            raise _unknown_reversal(self.bank, reversal_of)
        if original.loan_id != loan.id:
            owner = next((s.contract_no for s in self.loans.values() if s.id == original.loan_id),
                         None) or self.session.scalar(
                select(Loan.contract_no).where(Loan.id == original.loan_id))  # fmt: skip
            raise Refused(
                "reversal_of",
                RepaymentError(
                    f"repayment {reversal_of} belongs to loan {owner}, not {loan.contract_no}",
                    zh=f"流水号 {reversal_of} 属于贷款 {owner}，不是 {loan.contract_no}",
                ),
            )
        if original.reversed_by is not None:
            by = original.reversed_by
            raise Refused(
                "reversal_of",
                RepaymentError(
                    f"repayment {reversal_of} was already reversed by {by}",
                    zh=f"还款 {reversal_of} 已被流水 {by} 冲正",
                ),
            )
        if loan.status not in ("active", "repaid"):
            raise Refused(
                "reversal_of",
                RepaymentError(
                    f"loan {loan.contract_no} is {loan.status}; its repayments can no longer be "
                    "reversed",
                    zh=f"贷款 {loan.contract_no} 状态为{STATUS_ZH[loan.status]}，不能再冲正还款",
                ),
            )
        if line.paid_on < original.paid_on:
            raise Refused(
                "paid_on",
                RepaymentError(
                    f"the reversal date {line.paid_on} is before the repayment's date "
                    f"{original.paid_on}",
                    zh=f"冲正日期 {line.paid_on} 早于原还款日期 {original.paid_on}",
                ),
            )
        try:
            refuse_future(line.paid_on, self.today, "the reversal date", "冲正日期", RepaymentError)
        except RepaymentError as exc:
            raise Refused("paid_on", exc) from None
        given = (line.principal, line.interest, line.penalty)
        amounts = (original.principal, original.interest, original.penalty)
        for column, value, expected in zip(("principal", "interest", "penalty"), given, amounts,
                                           strict=True):  # fmt: skip
            if value is not None and value != expected:
                raise Refused(
                    column,
                    RepaymentError(
                        f"a reversal repeats the amounts of repayment {reversal_of}: {column} "
                        f"{format_yuan(expected)} yuan, not {_yuan(value)}",
                        zh=f"冲正金额须与原还款 {reversal_of} 一致："
                        f"应为 {format_yuan(expected)} 元",
                    ),
                )
        before = loan.exposure
        was_repaid = loan.status == "repaid"
        loan.repaid -= original.principal
        loan.repaid_interest -= original.interest
        self._record(loan, "remove", (original.paid_on, original.principal, reversal_of))
        if original.paid_on == loan.last_paid_on:
            loan.last_paid_on = max((p[0] for p in self._payments(loan)), default=None)
        if was_repaid and loan.outstanding > 0:
            loan.status = LOAN_LIFECYCLE.move(loan.contract_no, loan.status, LoanStatus.ACTIVE)
            loan.repaid_on, loan.reopened_on = None, line.paid_on
        if line.balance_after is not None:
            expected = loan.principal - self._repaid_through(loan, line.paid_on)
            self._check_balance(loan, line.balance_after, expected)
        outcome.exposure_change = loan.exposure - before
        outcome.original = original
        original.reversed_by = outcome.ref
        self._accept(outcome, _Earlier(outcome.ref, loan.id, line.paid_on, *amounts, reversal_of))

    def _check_balance(self, loan: _LoanState, given: int, expected: int) -> None:
        if given != expected:
            raise Refused(
                "balance_after",
                BalanceMismatchError(
                    f"loan {loan.contract_no}: the bank's balance after this repayment is "
                    f"{_yuan(given)} yuan but the fund's is {format_yuan(expected)} yuan",
                    zh=f"贷款 {loan.contract_no} 还款后本金余额："
                    f"银行为 {_yuan(given)} 元，基金为 {format_yuan(expected)} 元，不一致",
                ),
            )

    def _accept(self, outcome: _Outcome, row: _Earlier) -> None:
        outcome.earlier = row
        self.by_ref[row.ref] = row

    # -- writing, only when every line passed

    def write(self, actor: str, outcomes: list[_Outcome]) -> tuple[int, ...]:
        new = [o for o in outcomes if o.existing is None]
        if not new:
            return ()
        entry_ids = self._post_exposure(actor, new)
        now = utcnow()
        for reversal in (False, True):
            rows = [o for o in new if (o.original is not None) == reversal]
            if not rows:
                continue
            ids = insert_rows(
                self.session, Repayment.__table__, [self._row(o, actor, now) for o in rows]
            )
            for outcome, row_id in zip(rows, ids, strict=True):
                outcome.earlier.id = row_id
        self._update_loans({o.loan.id: o.loan for o in new}.values(), actor)
        return entry_ids

    def _row(self, outcome: _Outcome, actor: str, now: dt.datetime) -> dict:
        row = outcome.earlier
        return {
            "loan_id": row.loan_id,
            "bank_code": self.bank,
            "bank_ref": row.ref,
            "paid_on": row.paid_on,
            "principal": row.principal,
            "interest": row.interest,
            "penalty": row.penalty,
            "reversal_of_id": outcome.original.id if outcome.original else None,
            "entry_id": outcome.entry_id,
            "recorded_by": actor,
            "recorded_at": now,
        }

    def _post_exposure(self, actor: str, new: list[_Outcome]) -> tuple[int, ...]:
        """Each loan's exposure to the share of what is outstanding, per date."""
        moves: dict[dt.date, dict[int, int]] = defaultdict(dict)
        # Per (date, loan): the first reference and how many lines moved it.
        refs: dict[tuple[dt.date, int], list] = {}
        for outcome in new:
            if change := outcome.exposure_change:
                on, loan_id = outcome.line.paid_on, outcome.loan.id
                changes = moves[on]
                if loan_id in changes:
                    changes[loan_id] += change
                    refs[(on, loan_id)][1] += 1
                else:
                    changes[loan_id] = change
                    refs[(on, loan_id)] = [outcome.ref, 1]

        def describe(on: dt.date, loan_ids: list[int]) -> str:
            first, count = refs[(on, loan_ids[0])][0], sum(refs[(on, i)][1] for i in loan_ids)
            what = f"流水 {first}" if count == 1 else f"{count} 笔，流水 {first} 等"
            return f"{self.bank} 还款 {on}（{what}）"

        funds = {o.loan.id: o.loan.fund_code for o in new}
        entry_of, entry_ids = post_exposure_moves(
            self.session, bank=self.bank, kind="loan.repayment", moves=moves,
            describe=describe, actor=actor, funds=funds,
        )  # fmt: skip
        for outcome in new:
            outcome.entry_id = entry_of.get((outcome.line.paid_on, outcome.loan.id))
        return entry_ids

    def _update_loans(self, states: Iterable[_LoanState], actor: str) -> None:
        changed = [s for s in states if s.start != s.totals()]
        if not changed:
            return
        update_rows(
            self.session,
            Loan.__table__,
            [
                {
                    "id": s.id,
                    "status": s.status,
                    "repaid_principal": s.repaid,
                    "repaid_interest": s.repaid_interest,
                    "last_paid_on": s.last_paid_on,
                    "repaid_on": s.repaid_on,
                }
                for s in changed
            ],
        )
        ids = {s.id for s in changed}
        for obj in list(self.session.identity_map.values()):
            if isinstance(obj, Loan) and obj.id in ids:
                self.session.expire(obj)
        for state in changed:
            if state.start[0] == "active" and state.status == "repaid":
                commitment = self.session.get(Commitment, state.commitment_id)
                release_counter_guarantees(
                    self.session, commitment, state.repaid_on, actor, "贷款结清"
                )
            elif state.start[0] == "repaid" and state.status == "active":
                _hold_again(self.session, state, state.reopened_on, actor)


def _hold_again(session: Session, loan: _LoanState, on, actor: str) -> None:
    """A reversal re-opened a repaid loan: what was released on repayment is held again."""
    commitment = session.get(Commitment, loan.commitment_id)
    rows = session.scalars(
        select(CounterGuarantee)
        .where(CounterGuarantee.commitment_id == commitment.id)
        .order_by(CounterGuarantee.id)
    ).all()

    def content(item: CounterGuarantee) -> tuple:
        return (item.kind, item.value, item.guarantor_name, item.guarantor_id_number,
                item.employer_type, item.description)  # fmt: skip

    # Only the latest copy of each: one re-held by an earlier reversal was released again.
    released = [
        item
        for n, item in enumerate(rows)
        if item.status == "released" and all(content(x) != content(item) for x in rows[n + 1 :])
    ]
    for item in released:
        spec = CounterGuaranteeSpec(
            item.kind,
            item.value,
            item.guarantor_name,
            item.guarantor_id_number,
            item.employer_type,
            item.description,
        )
        register_counter_guarantee(session, commitment, spec, on, actor)


# --------------------------------------------------------------------------- helpers


def check_active(status: str, contract_no: str, what: str) -> None:
    """Refuse ``what`` on a loan that is not active, saying what to do instead."""
    if status == "active":
        return
    hint = {
        "repaid": "it is repaid in full",
        "claimed": "the fund has paid compensation on it; record money received as a recovery",
        "written_off": "it was written off",
        "recovered": "it was recovered in full",
    }[status]
    raise RepaymentError(
        f"loan {contract_no} takes no {what}: {hint}",
        zh=f"贷款 {contract_no} 状态为{STATUS_ZH[status]}，不能办理此业务",
    )


def _check_active(loan: _LoanState, what: str) -> None:
    try:
        check_active(loan.status, loan.contract_no, what)
    except RepaymentError as exc:
        raise Refused("contract_no", exc) from None


def _ref(value: str | None, column: str) -> str:
    value = (value or "").strip()
    if not value or len(value) > 60:
        raise Refused(
            column,
            RepaymentError(
                "a bank reference of 1-60 characters is required", zh="银行流水号应为 1-60 个字符"
            ),
        )
    return value


def _ref_conflict(bank: str, bank_ref: str, earlier: _Earlier) -> DuplicateReferenceError:
    return DuplicateReferenceError(
        f"bank reference {bank_ref} of {bank} was already used on {earlier.paid_on} with "
        "different content",
        zh=f"{bank} 流水号 {bank_ref} 已于 {earlier.paid_on} 使用，内容与本次不同",
    )


def _unknown_reversal(bank: str, reversal_of: str) -> Refused:
    return Refused(
        "reversal_of",
        RepaymentError(
            f"bank {bank} has no repayment with reference {reversal_of} to reverse",
            zh=f"{bank} 没有流水号为 {reversal_of} 的还款，无法冲正",
        ),
    )


def _yuan(value) -> str:
    return format_yuan(value) if isinstance(value, int) else str(value)
