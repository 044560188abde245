"""Guarantee approvals (承诺担保), one or a meeting's list at once.

Both go through :func:`approve_guarantees`. It locks the banks concerned (numbering is
per bank and year), reads the borrowers, their commitments and loans with set queries,
checks every request in the order given — eligibility on the approval date, limits,
repeat loans (counting the requests approved before it), suspension for the bank's
compensation rate, counter-guarantees — and writes only when none is refused: the
numbered commitments with the rule set of their date, the counter-guarantees, and one
memorandum entry per bank and date for the counter-guarantees' value.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledger.clock import business_today, utcnow
from ledger.entries import EntryDraft, credit, debit, post_entries
from ledger.fund.batches import Refused
from ledger.fund.books import PPM, counter_guarantee_accounts
from ledger.fund.borrowers import borrower_categories, erased_error
from ledger.fund.credentials import CredentialView, check_credential, credentials_of
from ledger.fund.eligibility import (
    BORROWER_TYPE_NAMES_ZH,
    Category,
    check_4050_lapse,
    check_eligible,
)
from ledger.fund.errors import (
    BankSuspendedError,
    CounterGuaranteeError,
    EligibilityError,
    FundError,
    LimitError,
    PolicyError,
    ReferenceDataError,
    RepeatLoanError,
    RowsRejectedError,
)
from ledger.fund.funds import FundView, funds, pick_fund
from ledger.fund.guarantees import check_counter_guarantees
from ledger.fund.identity import normalize_id_number, parse_resident_id
from ledger.fund.leverage import compensation_totals
from ledger.fund.models import Bank, Borrower, Commitment, CounterGuarantee, Loan
from ledger.fund.policy import RuleSet, rules_on, stored_rule_set_id
from ledger.fund.reference import Role, refuse_future, require_role
from ledger.fund.trades import check_project
from ledger.money import format_percent, format_yuan
from ledger.rows import chunks, insert_rows

COLUMNS = (
    "id_number", "bank", "amount", "term_months", "on", "counter_guarantees", "project_kind",
    "trade", "fund",
)  # fmt: skip


@dataclass(frozen=True)
class GuaranteeRequest:
    """One application to approve: a registered borrower, a bank, an amount and a term;
    the project the loan is for (``micro_profit`` or ``other``) and its trade (a code of
    the policy file's trade catalogue), each None when not recorded."""

    id_number: str
    bank: str
    amount: int
    term_months: int
    on: dt.date
    counter_guarantees: tuple = ()
    row: int = 0
    #: The fund that guarantees it; None: the borrower's district's fund when it had one
    #: on ``on``, else the city-level fund (:func:`ledger.fund.funds.fund_for`).
    fund: str | None = None
    project_kind: str | None = None
    trade: str | None = None


class Approved(NamedTuple):
    id: int
    number: str


@dataclass
class _History:
    """A borrower's commitments not yet used and loans, as the requests see them."""

    unused: list[str] = field(default_factory=list)
    loans: list[tuple] = field(default_factory=list)


def approve_guarantees(
    session: Session,
    requests: Sequence[GuaranteeRequest],
    *,
    actor: str,
    today: dt.date | None = None,
) -> list[Approved]:
    """Approve every request or none; returns the commitments (id, number) in order.

    Raises :class:`RowsRejectedError` with every refused request.
    """
    require_role(session, actor, Role.APPROVER)
    run = _Run(session, today or business_today())
    run.load(requests)
    accepted, errors = [], []
    for request in requests:
        try:
            accepted.append(run.check(request))
        except Refused as refused:
            errors.append(refused.at(request))
    if errors:
        errors.sort(key=lambda e: (e.row, COLUMNS.index(e.column)))
        raise RowsRejectedError(errors)
    return run.write(actor, accepted)


def check_borrower_eligible(
    rules: RuleSet, borrower: Borrower, held: Sequence[CredentialView], on: dt.date
) -> None:
    """Refuse (:class:`EligibilityError`) a borrower the rules in force on ``on`` do not
    allow a guarantee: the certificate they require, one of the eligible categories on
    that date (a valid certificate is one), the age range by sex. ``borrower`` is the row,
    or anything with its ``borrower_type``, ``categories``, ``sex`` and ``birth_date``
    (a correction checks the corrected ones)."""
    check_credential(rules, borrower.borrower_type, held, on)
    categories = borrower_categories(borrower, on)
    if any(c.kind == "reemployment_certificate" and c.valid_on(on) for c in held):
        # Holding a valid certificate is itself a category, whatever was declared.
        categories |= {Category.reemployment_certificate}
    if not categories & frozenset(rules["eligible_categories"]):
        # A lapsed 4050 registration is named as the reason, not "no category".
        check_4050_lapse(
            [c for c in borrower.categories.split(",") if c],
            borrower.sex,
            borrower.birth_date,
            on,
        )
    check_eligible(
        categories=categories,
        eligible=rules["eligible_categories"],
        birth_date=borrower.birth_date,
        on=on,
        min_age=rules["min_age"],
        max_age=rules.max_age_for(borrower.sex),
    )


class _Run:
    def __init__(self, session: Session, today: dt.date):
        self.session, self.today = session, today
        self.banks: dict[str, Bank] = {}
        self.borrowers: dict[str, Borrower] = {}
        self.history: dict[int, _History] = defaultdict(_History)
        self.rules: dict[dt.date, RuleSet] = {}
        self.suspension: dict[tuple[str, dt.date], FundError | None] = {}
        self.serials: dict[str, int] = {}
        self.credentials: dict[int, list[CredentialView]] = {}
        #: Per guarantor (resident ID): the commitments they guarantee that are still held.
        self.guaranteeing: dict[str, list[str]] = defaultdict(list)
        self.funds: dict[str, FundView] = {}

    def load(self, requests: Sequence[GuaranteeRequest]) -> None:
        self.funds = {f.code: f for f in funds(self.session)}
        codes = sorted({r.bank for r in requests})
        # The bank rows, locked in code order: numbering is per bank.
        for bank in self.session.scalars(
            select(Bank).where(Bank.code.in_(codes)).order_by(Bank.code).with_for_update()
        ):
            self.banks[bank.code] = bank
        numbers = sorted({normalize_id_number(r.id_number or "") for r in requests})
        for chunk in chunks(numbers):
            for borrower in self.session.scalars(
                select(Borrower).where(Borrower.id_number.in_(chunk))
            ):
                self.borrowers[borrower.id_number] = borrower
        ids = sorted(b.id for b in self.borrowers.values())
        self.credentials = credentials_of(self.session, ids)
        guarantors = sorted(
            {
                normalize_id_number(spec.guarantor_id_number)
                for r in requests
                for spec in r.counter_guarantees
                if spec.kind == "guarantor" and isinstance(spec.guarantor_id_number, str)
            }
        )
        for chunk in chunks(guarantors):
            for number, commitment in self.session.execute(
                select(CounterGuarantee.guarantor_id_number, Commitment.number)
                .join(Commitment, Commitment.id == CounterGuarantee.commitment_id)
                .where(
                    CounterGuarantee.guarantor_id_number.in_(chunk),
                    CounterGuarantee.status == "held",
                )
                .order_by(Commitment.id)
            ):
                self.guaranteeing[number].append(commitment)
        for chunk in chunks(ids):
            rows = self.session.execute(
                select(Commitment.borrower_id, Commitment.number)
                .where(Commitment.borrower_id.in_(chunk), Commitment.status == "approved")
                .order_by(Commitment.id)
            )
            for borrower_id, number in rows:
                self.history[borrower_id].unused.append(number)
            rows = self.session.execute(
                select(
                    Loan.borrower_id, Loan.contract_no, Loan.status, Loan.maturity_on,
                    Loan.extended_to, Loan.repaid_on,
                )
                .where(Loan.borrower_id.in_(chunk))
                .order_by(Loan.id)
            )  # fmt: skip
            for borrower_id, *loan in rows:
                self.history[borrower_id].loans.append(tuple(loan))

    def check(
        self, request: GuaranteeRequest
    ) -> tuple[GuaranteeRequest, Borrower, RuleSet, str, str]:
        try:
            refuse_future(request.on, self.today, "approval date", "审批日期", LimitError)
        except LimitError as exc:
            raise Refused("on", exc) from None
        bank = self.banks.get(request.bank)
        if bank is None:
            raise Refused(
                "bank",
                ReferenceDataError(
                    f"no partner bank {request.bank}", zh=f"经办银行 {request.bank} 不存在"
                ),
            )
        borrower = self._borrower(request)
        if request.on < borrower.birth_date:
            raise Refused(
                "on",
                EligibilityError(
                    f"approval date {request.on} is before the borrower was born "
                    f"({borrower.birth_date})",
                    zh=f"审批日期 {request.on} 早于借款人出生日期 {borrower.birth_date}",
                ),
            )
        try:
            fund = pick_fund(self.funds, borrower.district_code, request.on, request.fund).code
        except FundError as exc:
            raise Refused("fund", exc) from None
        try:
            rules = self._rules(request.on)
        except PolicyError as exc:  # a date before any rules were in force
            raise Refused("on", exc) from None
        _check_project(request)
        if not bank.active:
            raise Refused(
                "bank",
                BankSuspendedError(
                    f"bank {bank.code} is inactive and takes no new guarantees",
                    zh=f"{bank.code} 已停用，不再新增担保",
                ),
            )
        try:
            check_borrower_eligible(rules, borrower, self.credentials[borrower.id], request.on)
        except EligibilityError as exc:
            raise Refused("id_number", exc) from None
        _check_limits(rules, borrower, request)
        self._check_repeat(rules, borrower)
        suspended = self._suspension(rules, bank.code, request.on)
        if suspended is not None:
            raise Refused("bank", suspended)
        try:
            check_counter_guarantees(rules, request.amount, request.counter_guarantees)
            guarantors = self._check_guarantors(rules, borrower, request)
        except CounterGuaranteeError as exc:
            raise Refused("counter_guarantees", exc) from None
        number = self._next_number(bank.code, request.on)
        self.history[borrower.id].unused.append(number)
        for guarantor in guarantors:
            self.guaranteeing[guarantor].append(number)
        return request, borrower, rules, number, fund

    def _check_guarantors(
        self, rules: RuleSet, borrower: Borrower, request: GuaranteeRequest
    ) -> list[str]:
        """Each guarantor (a person, by resident ID) guarantees at most the rules' number of
        loans at once, counting the guarantees still held and those earlier in the batch;
        nobody guarantees their own loan."""
        limit = rules["counter_guarantee"]["max_loans_per_guarantor"]
        numbers = []
        for spec in request.counter_guarantees:
            if spec.kind != "guarantor" or not spec.guarantor_id_number:
                continue
            number = normalize_id_number(spec.guarantor_id_number)
            if number == borrower.id_number:
                raise CounterGuaranteeError(
                    "a borrower cannot be the guarantor of their own loan",
                    zh="借款人不能为自己的贷款提供保证",
                )
            held = self.guaranteeing[number]
            if len(held) >= limit:
                raise CounterGuaranteeError(
                    f"guarantor {number} already guarantees {len(held)} loan"
                    f"{_s(len(held))} ({', '.join(held)}); the rules in force on {request.on} "
                    f"allow {limit} at once",
                    zh=f"保证人 {number} 已为 {len(held)} 笔贷款提供保证（{'、'.join(held)}），"
                    f"{request.on} 适用的政策规定每人同时最多担保 {limit} 笔",
                )
            numbers.append(number)
        return numbers

    def _borrower(self, request: GuaranteeRequest) -> Borrower:
        number = normalize_id_number(request.id_number or "")
        borrower = self.borrowers.get(number)
        if borrower is None:
            raise Refused(
                "id_number",
                ReferenceDataError(
                    f"no borrower with ID number {number} is registered",
                    zh=f"身份证号 {number} 的借款人未登记",
                ),
            )
        if borrower.erased_at is not None:
            raise Refused("id_number", erased_error(borrower))
        return borrower

    def _rules(self, on: dt.date) -> RuleSet:
        if on not in self.rules:
            self.rules[on] = rules_on(self.session, on)
        return self.rules[on]

    def _check_repeat(self, rules: RuleSet, borrower: Borrower) -> None:
        history = self.history[borrower.id]
        try:
            check_repeat(rules, borrower.id_number, history.unused, history.loans)
        except RepeatLoanError as exc:
            raise Refused("id_number", exc) from None

    def _suspension(self, rules: RuleSet, bank: str, on: dt.date) -> FundError | None:
        key = (bank, on)
        if key not in self.suspension:
            paid, guaranteed = compensation_totals(self.session, bank, on)
            self.suspension[key] = suspension_error(rules, bank, paid, guaranteed)
        return self.suspension[key]

    def _next_number(self, bank: str, on: dt.date) -> str:
        prefix = f"G{on.year}-{bank}-"
        if prefix not in self.serials:
            last = self.session.scalar(
                select(func.max(Commitment.number)).where(
                    Commitment.number > prefix, Commitment.number < prefix + "~"
                )
            )
            self.serials[prefix] = int(last[len(prefix) :]) if last else 0
        self.serials[prefix] += 1
        return f"{prefix}{self.serials[prefix]:05d}"

    # -- writing, only when every request passed

    def write(self, actor: str, accepted: list) -> list[Approved]:
        if not accepted:
            return []
        now = utcnow()
        stored = {on: stored_rule_set_id(self.session, r) for on, r in self.rules.items()}
        rows = [
            {
                "number": number,
                "borrower_id": borrower.id,
                "bank_code": request.bank,
                "fund_code": fund,
                "amount": request.amount,
                "term_months": request.term_months,
                "approved_on": request.on,
                "approved_by": actor,
                "categories": ",".join(
                    sorted(c.value for c in borrower_categories(borrower, request.on))
                ),
                "status": "approved",
                "rule_set_id": stored[request.on],
                "created_at": now,
                "project_kind": request.project_kind,
                "trade": request.trade,
            }
            for request, borrower, _, number, fund in accepted
        ]
        ids = insert_rows(self.session, Commitment.__table__, rows)
        self._counter_guarantees(
            actor, [(r, fund, i) for (r, *_, fund), i in zip(accepted, ids, strict=True)]
        )
        return [Approved(i, a[3]) for a, i in zip(accepted, ids, strict=True)]

    def _counter_guarantees(
        self, actor: str, approved: list[tuple[GuaranteeRequest, str, int]]
    ) -> None:
        by_key: dict[tuple[str, str, dt.date], int] = defaultdict(int)
        for request, fund, _ in approved:
            for spec in request.counter_guarantees:
                by_key[(request.bank, fund, request.on)] += spec.value
        keys = [key for key, value in sorted(by_key.items()) if value > 0]
        drafts = []
        for bank, fund, on in keys:
            account, contra = counter_guarantee_accounts(bank, fund)
            value = by_key[(bank, fund, on)]
            drafts.append(
                EntryDraft(
                    on,
                    "counter-guarantee.register",
                    (debit(account, value), credit(contra, value)),
                    f"{bank} {on} 反担保登记（{format_yuan(value)} 元）",
                )
            )
        posted = post_entries(self.session, drafts, actor=actor)
        entry_of = {key: p.entry_id for key, p in zip(keys, posted, strict=True)}
        rows = [
            {
                "commitment_id": commitment_id,
                "kind": spec.kind,
                "guarantor_name": spec.guarantor_name.strip(),
                "guarantor_id_number": (
                    parse_resident_id(spec.guarantor_id_number).number
                    if spec.guarantor_id_number
                    else None
                ),
                "employer_type": spec.employer_type,
                "description": spec.description.strip(),
                "value": spec.value,
                "status": "held",
                "recorded_by": actor,
                "recorded_on": request.on,
                "entry_id": (
                    entry_of.get((request.bank, fund, request.on)) if spec.value > 0 else None
                ),
            }
            for request, fund, commitment_id in approved
            for spec in request.counter_guarantees
        ]
        if rows:
            insert_rows(self.session, CounterGuarantee.__table__, rows)


def _check_project(request: GuaranteeRequest) -> None:
    try:
        check_project(request.project_kind, None)
    except ReferenceDataError as exc:
        raise Refused("project_kind", exc) from None
    try:
        check_project(None, request.trade)
    except ReferenceDataError as exc:
        raise Refused("trade", exc) from None


def _check_limits(rules: RuleSet, borrower: Borrower, request: GuaranteeRequest) -> None:
    amount, term_months, on = request.amount, request.term_months, request.on
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise Refused(
            "amount",
            LimitError(
                "the guarantee amount must be a positive number of fen", zh="担保金额必须大于零"
            ),
        )
    try:
        check_amount_limit(rules, borrower, amount, on)
    except LimitError as exc:
        raise Refused("amount", exc) from None
    max_term = rules["max_term_months"]
    if not 1 <= term_months <= max_term:
        raise Refused(
            "term_months",
            LimitError(
                f"a term of {term_months} months is outside 1 to {max_term} months allowed by "
                f"the rules in force on {on}",
                zh=f"期限 {term_months} 个月不在 {on} 适用政策允许的 1–{max_term} 个月之内",
            ),
        )


def check_amount_limit(rules: RuleSet, borrower: Borrower, amount: int, on: dt.date) -> None:
    limit = rules.loan_limit(borrower.borrower_type, borrower.head_count)
    if amount > limit:
        kind = borrower.borrower_type
        heads = f" of {borrower.head_count} partners" if kind == "partnership" else ""
        article = "an" if kind == "individual" else "a"
        raise LimitError(
            f"{format_yuan(amount)} yuan is over the limit for {article} {kind}{heads} under the "
            f"rules in force on {on}: at most {format_yuan(limit)} yuan",
            zh=f"{format_yuan(amount)} 元超过 {on} 适用政策对"
            f"{BORROWER_TYPE_NAMES_ZH[kind]}的贷款上限 {format_yuan(limit)} 元",
        )


def check_repeat(rules: RuleSet, id_number: str, unused: list[str], loans: list[tuple]) -> None:
    """Refuse a new guarantee to a borrower with an unused commitment, too many active
    loans, too many loans in all, or (where the rules ask) one not repaid on time.

    ``loans`` are (contract_no, status, maturity_on, extended_to, repaid_on) in id order.
    """
    if unused:
        raise RepeatLoanError(
            f"borrower {id_number} already has an unused commitment {unused[0]}",
            zh=f"借款人 {id_number} 已有未使用的担保承诺 {unused[0]}",
        )
    repeat = rules["repeat_loans"]
    active = [contract for contract, status, *_ in loans if status == "active"]
    limit = repeat["max_active"]
    if len(active) >= limit:
        raise RepeatLoanError(
            f"borrower {id_number} still owes on {len(active)} loan{_s(len(active))} "
            f"({', '.join(active)}); the rules allow at most {limit} active loan{_s(limit)}",
            zh=f"借款人 {id_number} 尚有 {len(active)} 笔贷款未还清"
            f"（{'、'.join(active)}），政策规定同时在贷最多 {limit} 笔",
        )
    if len(loans) >= repeat["max_loans"]:
        raise RepeatLoanError(
            f"borrower {id_number} has had {len(loans)} guaranteed loans; the rules allow at "
            f"most {repeat['max_loans']}",
            zh=f"借款人 {id_number} 已获得 {len(loans)} 次担保贷款，"
            f"政策规定最多 {repeat['max_loans']} 次",
        )
    if repeat["require_on_time"]:
        for contract, status, maturity_on, extended_to, repaid_on in loans:
            final = extended_to or maturity_on
            if status != "repaid" or repaid_on is None or repaid_on > final:
                raise RepeatLoanError(
                    f"borrower {id_number} did not repay loan {contract} on time; only "
                    "borrowers who repaid on time may borrow again",
                    zh=f"借款人 {id_number} 的贷款 {contract} 未按期还清，不能再次担保",
                )


def suspension_error(
    rules: RuleSet, bank: str, paid: int, guaranteed: int
) -> BankSuspendedError | None:
    threshold = rules["suspend_above_compensation_rate_ppm"]
    if not (guaranteed and paid * PPM > threshold * guaranteed):
        return None
    rate = paid * PPM // guaranteed
    return BankSuspendedError(
        f"new guarantees at bank {bank} are suspended: its compensation rate is "
        f"{format_percent(rate)}, over the {format_percent(threshold)} threshold "
        f"(claims paid {format_yuan(paid)} yuan of {format_yuan(guaranteed)} "
        "yuan guaranteed)",
        zh=f"{bank} 代偿率 {format_percent(rate)} 超过 {format_percent(threshold)}，暂停新增担保"
        f"（已代偿 {format_yuan(paid)} 元，累计担保 {format_yuan(guaranteed)} 元）",
    )


def _s(n: int) -> str:
    return "" if n == 1 else "s"
