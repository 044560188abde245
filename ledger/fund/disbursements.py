"""Disbursements (放款) against approved commitments: one, or a bank file's worth at once.

Both go through :func:`apply_disbursements`. It takes the bank's row lock (so the
leverage cap is checked race-free, see :mod:`ledger.fund.leverage`), reads the
commitments and loans the lines name with a few set queries, checks every line in
memory in the order given, and writes only when none is refused: the loans, their
accounts, one exposure entry per disbursement date (each loan's exposure is its
coverage × principal), and the commitments marked used. A refused line is reported with
its row, column and value, and the batch writes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ledger.accounts import open_accounts
from ledger.clock import business_today, utcnow
from ledger.fund.batches import Refused, post_exposure_moves
from ledger.fund.books import loan_accounts, share
from ledger.fund.errors import (
    CommitmentError,
    DuplicateReferenceError,
    LimitError,
    RowsRejectedError,
    StateError,
)
from ledger.fund.identity import normalize_id_number
from ledger.fund.leverage import Capacity, capacities, exposure_error
from ledger.fund.models import COMMITMENT_LIFECYCLE, Borrower, Commitment, CommitmentStatus, Loan
from ledger.fund.policy import RuleSet, rules_on, stored_rule_set_id
from ledger.fund.reference import Role, get_bank, refuse_future, require_bank_access
from ledger.fund.schedule import Method, add_months, build_schedule
from ledger.money import format_percent, format_yuan
from ledger.rows import among, chunks, insert_rows, update_rows

COLUMNS = (
    "contract_no",
    "guarantee_no",
    "borrower_name",
    "id_number",
    "disbursed_on",
    "maturity_on",
    "principal",
    "annual_rate",
    "repayment_method",
)


@dataclass(frozen=True)
class DisbursementLine:
    """One loan as the bank reports disbursing it."""

    contract_no: str
    guarantee_no: str
    borrower_name: str
    id_number: str
    disbursed_on: dt.date
    maturity_on: dt.date
    principal: int
    #: Annual rate in parts per million (3.85% = 38,500).
    annual_rate_ppm: int
    repayment_method: Method | str
    #: Where the line came from (a file's row number), for the error report.
    row: int = 0
    #: For a loan taken over when the books are opened (``apply_disbursements``'s
    #: ``booked_on``): its principal outstanding on that date, which the leverage cap counts.
    outstanding: int | None = None


@dataclass(frozen=True)
class DisbursementResult:
    loan_id: int
    #: False when the contract was posted before (or earlier in the batch) with identical content.
    created: bool


@dataclass(frozen=True)
class DisbursementBatch:
    results: tuple[DisbursementResult, ...]
    entry_ids: tuple[int, ...]

    @property
    def posted(self) -> int:
        return sum(r.created for r in self.results)

    @property
    def skipped(self) -> int:
        return sum(not r.created for r in self.results)


@dataclass(frozen=True)
class Disbursed:
    loan: Loan
    #: False when the same contract was posted before with identical content.
    created: bool


def apply_disbursements(
    session: Session,
    *,
    bank: str,
    lines: Sequence[DisbursementLine],
    actor: str,
    today: dt.date | None = None,
    booked_on: dt.date | None = None,
) -> DisbursementBatch:
    """Check every line, then post them all, or raise :class:`RowsRejectedError` with
    every refused line and write nothing. The scheduler (system) may post a bank's file.

    ``booked_on``: loans taken over when the books are opened on that date (onboarding).
    Each keeps its own disbursement date, rules and schedule, but its exposure is booked
    on ``booked_on`` (the books hold nothing earlier), and the leverage cap is checked on
    that date against what each line has outstanding then (``DisbursementLine.outstanding``).
    """
    require_bank_access(session, actor, bank, Role.CLERK, Role.APPROVER, Role.BANK, Role.SYSTEM)
    get_bank(session, bank, for_update=True)
    run = _Run(session, bank, today or business_today(), booked_on)
    run.load(lines)
    outcomes, errors = [], []
    for line in lines:
        try:
            outcomes.append(run.apply(line))
        except Refused as refused:
            errors.append(refused.at(line))
            outcomes.append(None)
    if errors:
        errors.sort(key=lambda e: (e.row, COLUMNS.index(e.column)))
        raise RowsRejectedError(errors)
    entry_ids = run.write(actor, outcomes)
    return DisbursementBatch(
        tuple(DisbursementResult(o.loan_id, o.created) for o in outcomes), entry_ids
    )


def disburse(
    session: Session,
    *,
    bank: str,
    contract_no: str,
    guarantee_no: str,
    borrower_name: str,
    id_number: str,
    disbursed_on: dt.date,
    maturity_on: dt.date,
    principal: int,
    annual_rate_ppm: int,
    method: Method | str,
    actor: str,
    today: dt.date | None = None,
) -> Disbursed:
    """Record a loan the bank disbursed against an approved commitment; exposure ↑."""
    line = DisbursementLine(
        contract_no, guarantee_no, borrower_name, id_number, disbursed_on, maturity_on,
        principal, annual_rate_ppm, method,
    )  # fmt: skip
    try:
        batch = apply_disbursements(session, bank=bank, lines=[line], actor=actor, today=today)
    except RowsRejectedError as rejected:
        raise rejected.errors[0].error from None
    result = batch.results[0]
    return Disbursed(session.get(Loan, result.loan_id), result.created)


@dataclass
class _Commitment:
    id: int
    number: str
    bank_code: str
    status: str
    amount: int
    term_months: int
    approved_on: dt.date
    borrower_id: int
    id_number: str
    borrower_name: str
    #: The fund that guarantees it, and so the loan.
    fund_code: str
    #: The contract of the loan that used it (in the books or earlier in this batch).
    used_by: str | None = None


@dataclass
class _Outcome:
    line: DisbursementLine
    contract_no: str
    commitment: _Commitment | None = None
    method: Method | None = None
    rules: RuleSet | None = None
    exposure: int = 0
    #: The loan in the books this line repeats (skipped), or the earlier line of the batch.
    existing: int | None = None
    repeat_of: _Outcome | None = None
    loan_id: int | None = None

    @property
    def created(self) -> bool:
        return self.existing is None and self.repeat_of is None

    def content(self) -> tuple:
        line = self.line
        return ((line.guarantee_no or "").strip(), line.disbursed_on, line.maturity_on,
                line.principal, line.annual_rate_ppm, self.method.value)  # fmt: skip


class _Run:
    def __init__(self, session: Session, bank: str, today: dt.date, booked_on=None):
        self.session, self.bank, self.today = session, bank, today
        #: The date the exposure is booked on when the books are opened; None: as disbursed.
        self.booked_on: dt.date | None = booked_on
        self.commitments: dict[str, _Commitment] = {}
        #: contract → (content, loan id or the outcome that will create it)
        self.loans: dict[str, tuple[tuple, object]] = {}
        self.rules: dict[dt.date, RuleSet] = {}
        self.capacities: dict[tuple[dt.date, str], tuple[Capacity, ...]] = {}
        #: (fund, date, exposure, principal) of each line accepted so far.
        self.added: list[tuple[str, dt.date, int, int]] = []

    def load(self, lines: Sequence[DisbursementLine]) -> None:
        numbers = sorted({(line.guarantee_no or "").strip() for line in lines} - {""})
        columns = (
            Commitment.id, Commitment.number, Commitment.bank_code, Commitment.status,
            Commitment.amount, Commitment.term_months, Commitment.approved_on,
            Commitment.borrower_id, Borrower.id_number, Borrower.name, Commitment.fund_code,
        )  # fmt: skip
        for chunk in chunks(numbers):
            query = (
                select(*columns)
                .join(Borrower, Borrower.id == Commitment.borrower_id)
                .where(among(self.session, Commitment.number, chunk))
                .order_by(Commitment.id)
                .with_for_update(of=Commitment.__table__)
            )
            for row in self.session.execute(query):
                self.commitments[row.number] = _Commitment(*row)
        contracts = sorted({(line.contract_no or "").strip() for line in lines} - {""})
        loan_columns = (
            Loan.id, Loan.contract_no, Commitment.number, Loan.disbursed_on, Loan.maturity_on,
            Loan.principal, Loan.annual_rate_ppm, Loan.method,
        )  # fmt: skip
        for chunk in chunks(contracts):
            query = (
                select(*loan_columns)
                .join(Commitment, Commitment.id == Loan.commitment_id)
                .where(Loan.bank_code == self.bank, among(self.session, Loan.contract_no, chunk))
            )
            for loan_id, contract, *content in self.session.execute(query):
                self.loans[contract] = (tuple(content), loan_id)
        used = [c.id for c in self.commitments.values() if c.status == "used"]
        for chunk in chunks(used):
            query = select(Loan.commitment_id, Loan.contract_no).where(
                among(self.session, Loan.commitment_id, chunk)
            )
            by_id = dict(self.session.execute(query).tuples().all())
            for commitment in self.commitments.values():
                commitment.used_by = by_id.get(commitment.id, commitment.used_by)

    def apply(self, line: DisbursementLine) -> _Outcome:
        contract = (line.contract_no or "").strip()
        if not contract or len(contract) > 60:
            raise Refused(
                "contract_no",
                CommitmentError(
                    "a contract number of 1-60 characters is required",
                    zh="贷款合同号应为 1-60 个字符",
                ),
            )
        outcome = _Outcome(line, contract)
        outcome.commitment = self._commitment(line)
        outcome.method = _method(line.repayment_method)
        earlier = self.loans.get(contract)
        if earlier is not None:
            content, loan = earlier
            if content != outcome.content():
                raise Refused(
                    "contract_no",
                    DuplicateReferenceError(
                        f"contract {contract} of bank {self.bank} was already disbursed with "
                        "different content",
                        zh=f"{self.bank} 合同号 {contract} 已放款，内容与本次不同",
                    ),
                )
            if isinstance(loan, _Outcome):
                outcome.repeat_of = loan
            else:
                outcome.existing = loan
            return outcome
        commitment = outcome.commitment
        self._check_commitment(line, commitment)
        self._check_dates(line, commitment)
        rules = self._rules(line.disbursed_on)
        _check_term_and_rate(rules, commitment, line)
        if isinstance(line.principal, bool) or not isinstance(line.principal, int):
            raise Refused(
                "principal", CommitmentError("principal must be a number of fen", zh="放款金额无效")
            )
        if not 0 < line.principal <= commitment.amount:
            raise Refused(
                "principal",
                CommitmentError(
                    f"principal {format_yuan(line.principal)} yuan is over the "
                    f"{format_yuan(commitment.amount)} yuan approved by commitment "
                    f"{commitment.number}",
                    zh=f"放款金额 {format_yuan(line.principal)} 元超过担保承诺 "
                    f"{commitment.number} 批准的 {format_yuan(commitment.amount)} 元",
                ),
            )
        try:
            build_schedule(line.principal, line.annual_rate_ppm, outcome.method,
                           line.disbursed_on, line.maturity_on)  # fmt: skip
        except ValueError as exc:
            error = LimitError(str(exc), zh=f"还款计划无法生成：{exc}")
            raise Refused("maturity_on", error) from None
        outcome.rules = rules
        outcome.exposure = share(line.principal, rules["coverage_ppm"])
        fund = commitment.fund_code
        counted, counted_principal = outcome.exposure, line.principal
        if self.booked_on is not None and line.outstanding is not None:
            counted_principal = line.outstanding
            counted = share(line.outstanding, rules["coverage_ppm"])
        self._check_leverage(line, counted, fund, counted_principal)
        self.added.append((fund, self._booked(line), counted, counted_principal))
        commitment.status = COMMITMENT_LIFECYCLE.move(
            commitment.number, commitment.status, CommitmentStatus.USED
        )
        commitment.used_by = contract
        self.loans[contract] = (outcome.content(), outcome)
        return outcome

    def _commitment(self, line: DisbursementLine) -> _Commitment:
        number = (line.guarantee_no or "").strip()
        commitment = self.commitments.get(number)
        if commitment is None:
            raise Refused(
                "guarantee_no",
                StateError(f"no commitment {number}", zh=f"担保承诺号 {number} 不存在"),
            )
        return commitment

    def _check_commitment(self, line: DisbursementLine, commitment: _Commitment) -> None:
        if commitment.bank_code != self.bank:
            raise Refused(
                "guarantee_no",
                CommitmentError(
                    f"commitment {commitment.number} was approved for bank "
                    f"{commitment.bank_code}, not {self.bank}",
                    zh=f"担保承诺 {commitment.number} 属于 {commitment.bank_code}，"
                    f"不属于 {self.bank}",
                ),
            )
        if commitment.status != "approved":
            used_by = commitment.used_by
            what = f"used by loan {used_by}" if used_by else commitment.status
            raise Refused(
                "guarantee_no",
                CommitmentError(
                    f"commitment {commitment.number} is not available: {what}",
                    zh=f"担保承诺 {commitment.number} 不可用："
                    + (f"已被贷款 {used_by} 使用" if used_by else "已撤销"),
                ),
            )
        given = normalize_id_number(line.id_number or "")
        if given != commitment.id_number:
            raise Refused(
                "id_number",
                CommitmentError(
                    f"ID number {given} is not the borrower of commitment {commitment.number}",
                    zh=f"身份证号 {given} 与担保承诺 {commitment.number} 的借款人不符",
                ),
            )
        name = (line.borrower_name or "").strip()
        if name != commitment.borrower_name:
            raise Refused(
                "borrower_name",
                CommitmentError(
                    f"borrower name {name} does not match commitment {commitment.number} "
                    f"({commitment.borrower_name})",
                    zh=f"借款人姓名 {name} 与担保承诺 {commitment.number} 不符",
                ),
            )

    def _booked(self, line: DisbursementLine) -> dt.date:
        """The date the line's exposure is booked on."""
        return self.booked_on or line.disbursed_on

    def _check_dates(self, line: DisbursementLine, commitment: _Commitment) -> None:
        if line.disbursed_on < commitment.approved_on:
            raise Refused(
                "disbursed_on",
                CommitmentError(
                    f"disbursement date {line.disbursed_on} is before commitment "
                    f"{commitment.number} was approved on {commitment.approved_on}",
                    zh=f"放款日期 {line.disbursed_on} 早于担保承诺 {commitment.number} 的批准日 "
                    f"{commitment.approved_on}",
                ),
            )
        try:
            refuse_future(line.disbursed_on, self.today, "disbursement date", "放款日期",
                          CommitmentError)  # fmt: skip
        except CommitmentError as exc:
            raise Refused("disbursed_on", exc) from None
        if self.booked_on is not None and line.disbursed_on > self.booked_on:
            raise Refused(
                "disbursed_on",
                CommitmentError(
                    f"disbursement date {line.disbursed_on} is after the opening date "
                    f"{self.booked_on}",
                    zh=f"放款日期 {line.disbursed_on} 晚于切换日期 {self.booked_on}",
                ),
            )
        if line.maturity_on <= line.disbursed_on:
            raise Refused(
                "maturity_on",
                LimitError(
                    f"maturity {line.maturity_on} must be after the disbursement date "
                    f"{line.disbursed_on}",
                    zh=f"到期日期 {line.maturity_on} 须晚于放款日期 {line.disbursed_on}",
                ),
            )

    def _rules(self, on: dt.date) -> RuleSet:
        if on not in self.rules:
            self.rules[on] = rules_on(self.session, on)
        return self.rules[on]

    def _check_leverage(
        self, line: DisbursementLine, exposure: int, fund: str, principal: int
    ) -> None:
        """The cap of the loan's fund at the bank now and, for a backdated line, on its
        date (the opening date when the books are opened); each counting the lines
        accepted before this one (on that date or before, for the second)."""
        on = self._booked(line)
        if (on, fund) not in self.capacities:
            self.capacities[(on, fund)] = capacities(
                self.session, self.bank, on, self._rules(on), fund
            )
        for cap in self.capacities[(on, fund)]:
            # The cap counts exposure or principal, as the rules' leverage.basis says.
            by_principal = cap.basis == "principal"
            added = sum(
                p if by_principal else e
                for f, d, e, p in self.added
                if f == fund and (cap.as_of is None or d <= cap.as_of)
            )
            grown = (
                replace(cap, outstanding=cap.outstanding + added)
                if by_principal
                else replace(cap, exposure=cap.exposure + added)
            )
            error = exposure_error(grown, principal if by_principal else exposure)
            if error is not None:
                raise Refused("principal", error)

    # -- writing, only when every line passed

    def write(self, actor: str, outcomes: list[_Outcome]) -> tuple[int, ...]:
        new = [o for o in outcomes if o.created]
        if new:
            self._insert_loans(actor, new)
        for outcome in outcomes:
            if not outcome.created:
                outcome.loan_id = outcome.existing or outcome.repeat_of.loan_id
        return self._post_exposure(actor, new) if new else ()

    def _insert_loans(self, actor: str, new: list[_Outcome]) -> None:
        now = utcnow()
        stored = {on: stored_rule_set_id(self.session, r) for on, r in self.rules.items()}
        rows = [
            {
                "bank_code": self.bank,
                "contract_no": o.contract_no,
                "commitment_id": o.commitment.id,
                "borrower_id": o.commitment.borrower_id,
                "fund_code": o.commitment.fund_code,
                "principal": o.line.principal,
                "annual_rate_ppm": o.line.annual_rate_ppm,
                "method": o.method.value,
                "disbursed_on": o.line.disbursed_on,
                "maturity_on": o.line.maturity_on,
                "coverage_ppm": o.rules["coverage_ppm"],
                "status": "active",
                "repaid_principal": 0,
                "repaid_interest": 0,
                "rule_set_id": stored[o.line.disbursed_on],
                "created_by": actor,
                "created_at": now,
            }
            for o in new
        ]
        ids = insert_rows(self.session, Loan.__table__, rows)
        for outcome, loan_id in zip(new, ids, strict=True):
            outcome.loan_id = loan_id
        specs = []
        for o in new:
            specs += loan_accounts(self.bank, o.loan_id, o.contract_no, o.commitment.fund_code)
        open_accounts(self.session, specs)
        for chunk in chunks([o.commitment.id for o in new]):
            self.session.execute(
                update(Commitment)
                .where(among(self.session, Commitment.id, chunk))
                .values(status="used")
            )
        for obj in list(self.session.identity_map.values()):
            if isinstance(obj, Commitment):
                self.session.expire(obj)

    def _post_exposure(self, actor: str, new: list[_Outcome]) -> tuple[int, ...]:
        moves: dict[dt.date, dict[int, int]] = defaultdict(dict)
        by_loan = {}
        for outcome in new:
            moves[self._booked(outcome.line)][outcome.loan_id] = outcome.exposure
            by_loan[outcome.loan_id] = outcome

        def describe(on: dt.date, loan_ids: list[int]) -> str:
            first = by_loan[loan_ids[0]]
            if len(loan_ids) == 1:
                # Ids, never a name or an ID number: an entry is kept forever, personal
                # data only as long as the law allows (it lives in the borrower record).
                return (
                    f"{self.bank} 放款 {first.contract_no}（贷款 #{loan_ids[0]}，"
                    f"借款人 #{first.commitment.borrower_id}），"
                    f"本金 {format_yuan(first.line.principal)} 元"
                )
            total = sum(by_loan[i].line.principal for i in loan_ids)
            return (
                f"{self.bank} 放款 {on} {len(loan_ids)} 笔（合同 {first.contract_no} 等），"
                f"本金 {format_yuan(total)} 元"
            )

        funds = {o.loan_id: o.commitment.fund_code for o in new}
        entry_of, entry_ids = post_exposure_moves(
            self.session, bank=self.bank, kind="loan.disbursement", moves=moves,
            describe=describe, actor=actor, funds=funds,
        )  # fmt: skip
        update_rows(
            self.session,
            Loan.__table__,
            [
                {"id": o.loan_id, "entry_id": entry_of[(self._booked(o.line), o.loan_id)]}
                for o in new
            ],
        )
        return entry_ids


def _method(value) -> Method:
    try:
        return Method(value)
    except ValueError:
        raise Refused(
            "repayment_method",
            LimitError(
                f"repayment method {value!r} is not one of " + ", ".join(m.value for m in Method),
                zh=f"还款方式 {value} 无效",
            ),
        ) from None


def _check_term_and_rate(rules: RuleSet, commitment: _Commitment, line: DisbursementLine) -> None:
    months = min(commitment.term_months, rules["max_term_months"])
    latest = add_months(line.disbursed_on, months)
    if line.maturity_on > latest:
        raise Refused(
            "maturity_on",
            LimitError(
                f"maturity {line.maturity_on} is more than {months} months after disbursement "
                f"({line.disbursed_on}); the commitment and the rules allow up to {latest}",
                zh=f"到期日期 {line.maturity_on} 超过放款后 {months} 个月（最迟 {latest}）",
            ),
        )
    cap = rules.rate_cap_on(line.disbursed_on)
    rate = line.annual_rate_ppm
    if isinstance(rate, bool) or not isinstance(rate, int) or not 0 <= rate <= cap:
        raise Refused(
            "annual_rate",
            LimitError(
                f"annual rate {_pct(rate)} is over the cap of {_pct(cap)} in force on "
                f"{line.disbursed_on}",
                zh=f"年利率 {_pct(rate)} 超过 {line.disbursed_on} 适用的利率上限 {_pct(cap)}",
            ),
        )


def _pct(ppm) -> str:
    return format_percent(ppm) if isinstance(ppm, int) else str(ppm)
