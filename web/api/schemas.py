"""The API's bodies as marshmallow schemas: what each route reads (its query, its JSON
body) and what it answers. The OpenAPI document is generated from them
(``web.api.openapi``), so a field described here is described there.

Money is fen inside the books and a decimal string of yuan on the wire, ``"1234.50"``
(:class:`Money`): never a JSON number, which a client's float would round. Rates are
integers in parts per million (4.35 % = 43500); dates ISO ``YYYY-MM-DD``; moments ISO in
UTC with a ``Z``.
"""

from __future__ import annotations

import datetime as dt
import re

from marshmallow import Schema, ValidationError, fields, validate

from ledger.bankfiles.kinds import KINDS
from ledger.bankfiles.receipts import RECEIPT_SORTS
from ledger.fund.read.loans import LOAN_SORTS
from ledger.journal import ENTRY_SORTS
from ledger.money import fen_to_yuan, yuan_to_fen
from ledger.paging import MAX_PAGE, SortKey

_UNSIGNED = r"^[0-9]{1,13}(\.[0-9]{1,2})?$"
_SIGNED = r"^-?[0-9]{1,13}\.[0-9]{2}$"
NOT_MONEY = (
    'Not an amount: give yuan as a decimal string with at most 2 decimals, e.g. "1234.50" '
    "(a JSON number is refused)."
)
NOT_MONEY_ZH = '不是金额：请以字符串给出元，最多两位小数，如 "1234.50"（不接受 JSON 数字）。'
NOT_DATE = "Not a valid date."


class Money(fields.Field):
    """Fen in the books; yuan as a decimal string on the wire."""

    def __init__(self, **kwargs):
        metadata = {"pattern": _UNSIGNED, "example": "1234.50", **kwargs.pop("metadata", {})}
        super().__init__(metadata=metadata, **kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else str(fen_to_yuan(int(value)))

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str) or not re.fullmatch(_UNSIGNED, value):
            raise ValidationError(NOT_MONEY)
        return yuan_to_fen(value)


class SignedMoney(Money):
    """An amount the API answers with, which may be negative: ``"-12.30"``."""

    def __init__(self, **kwargs):
        super().__init__(metadata={"pattern": _SIGNED}, **kwargs)


class Day(fields.Date):
    """An ISO date; an empty string is no date (a filter left blank)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str) or not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
            raise ValidationError(NOT_DATE)
        return super()._deserialize(value, attr, data, **kwargs)


class Moment(fields.DateTime):
    """A naive UTC moment of the books, as ISO 8601 with a ``Z``."""

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _text(max_length: int, **kwargs) -> fields.String:
    return fields.String(validate=validate.Length(min=1, max=max_length), **kwargs)


def nullable(field_class, *args, **kwargs):
    return field_class(*args, allow_none=True, **kwargs)


# ----------------------------------------------------------------------- queries


def sort_field(keys: tuple[SortKey, ...], what: dict[str, str]) -> fields.String:
    """``?sort=``: one of ``keys`` or ``id``, ascending, or descending with a ``-`` first.
    Not checked here: the list refuses another with its ``invalid-filter`` problem, which
    names the sorts it has in English and Chinese."""
    names = ["id", *(k.name for k in keys)]
    said = "; ".join(f"`{n}` {what.get(n, 'the id: the order of recording')}" for n in names)
    return fields.String(
        metadata={
            "description": f"The order: {said}. Ascending, or descending with a `-` first; "
            "then by id in the same direction. Default `-id`, newest first. Send the "
            "same sort with each page's cursor.",
            "enum": [f"{sign}{n}" for n in names for sign in ("", "-")],
        }
    )


class PageQuery(Schema):
    cursor = fields.String(
        metadata={
            "description": "The next_cursor of the page before (with the same sort and "
            "filters); none for the first page."
        }
    )
    limit = fields.Integer(
        load_default=50, validate=validate.Range(min=1, max=MAX_PAGE),
        metadata={"description": f"Items per page, 1 to {MAX_PAGE}."},
    )  # fmt: skip


class LoansQuery(PageQuery):
    sort = sort_field(
        LOAN_SORTS,
        {
            "disbursed_on": "the disbursement date",
            "principal": "the principal lent",
            "maturity": "the final maturity (the extended one if extended)",
            "contract_no": "the contract number",
        },
    )
    bank = fields.String(metadata={"description": "A bank's code (a bank's token: its own)."})
    district = fields.String(metadata={"description": "The borrower's district code."})
    status = fields.String(
        metadata={"enum": ["active", "repaid", "claimed", "written_off", "recovered"]}
    )
    fund = fields.String(metadata={"description": "The fund's code; none: every fund."})
    from_ = Day(data_key="from", metadata={"description": "Disbursed on or after."})
    to = Day(metadata={"description": "Disbursed on or before."})
    q = fields.String(
        metadata={"description": "A contract number, a whole ID number or a name's start."}
    )


class LoanQuery(Schema):
    as_of = Day(metadata={"description": "The date the position is as of; default today."})


class DashboardQuery(Schema):
    fund = fields.String(metadata={"description": "The fund's code; none: the city."})


class EntriesQuery(PageQuery):
    sort = sort_field(ENTRY_SORTS, {"effective_date": "the effective (business) date"})
    kind = fields.String(metadata={"description": "The entry's kind, e.g. loan.repayment."})
    account = fields.String(metadata={"description": "An account and the accounts below it."})
    from_ = Day(data_key="from", metadata={"description": "Effective on or after."})
    to = Day(metadata={"description": "Effective on or before."})


class ReceiptsQuery(PageQuery):
    sort = sort_field(RECEIPT_SORTS, {"uploaded_at": "the moment of the upload"})
    bank = fields.String(metadata={"description": "A bank's code (a bank's token: its own)."})
    kind = fields.String(metadata={"enum": sorted(KINDS)})
    status = fields.String(metadata={"enum": ["accepted", "rejected", "duplicate"]})
    from_ = Day(data_key="from", metadata={"description": "Uploaded on or after (China date)."})
    to = Day(metadata={"description": "Uploaded on or before (China date)."})


class TokensQuery(PageQuery):
    bank = fields.String()


# ----------------------------------------------------------------------- bodies in


class RepaymentIn(Schema):
    """One repayment the bank reports (as one row of a repayment file), or the reversal of
    an earlier one (``reversal_of``; its amounts are then the original's)."""

    bank = fields.String(
        metadata={"description": "The bank's code; a bank's token may leave it out."}
    )
    bank_ref = _text(60, required=True, metadata={"description": "The bank's reference."})
    contract_no = _text(60, required=True)
    paid_on = Day(required=True)
    principal = Money(metadata={"description": "Principal repaid (required unless a reversal)."})
    interest = Money(metadata={"description": "Interest paid (required unless a reversal)."})
    penalty = Money(load_default=None, allow_none=True)
    id_number = fields.String(
        load_default=None, allow_none=True, metadata={"description": "Cross-checked if given."}
    )
    balance_after = Money(
        load_default=None, allow_none=True,
        metadata={"description": "The principal outstanding after it, by the bank's books."},
    )  # fmt: skip
    reversal_of = fields.String(
        load_default=None, allow_none=True,
        metadata={"description": "The bank_ref of the repayment this one reverses."},
    )  # fmt: skip


class AllocationIn(Schema):
    """Money received from a capital source, recorded by a clerk; an approver approves it."""

    source = _text(40, required=True, metadata={"description": "The capital source's code."})
    amount = Money(required=True)
    received_on = Day(required=True)
    reference = fields.String(load_default="", validate=validate.Length(max=100))
    note = fields.String(load_default="", validate=validate.Length(max=500))


class TokenIn(Schema):
    bank = _text(20, required=True)
    name = _text(100, required=True, metadata={"description": "The system that will use it."})


# ----------------------------------------------------------------------- bodies out


class PostingOut(Schema):
    account = fields.String(required=True)
    side = fields.String(required=True, metadata={"enum": ["D", "C"]})
    amount = Money(required=True)


class EntryOut(Schema):
    id = fields.Integer(required=True)
    effective_date = fields.Date(required=True)
    recorded_at = Moment(required=True)
    kind = fields.String(required=True)
    description = fields.String(required=True)
    actor = fields.String(required=True)
    reverses_id = nullable(fields.Integer, required=True)
    seq = nullable(fields.Integer, required=True, metadata={"description": "null until sealed"})
    hash = nullable(fields.String, required=True)
    postings = fields.List(fields.Nested(PostingOut), required=True)


class LoanRowOut(Schema):
    id = fields.Integer(required=True)
    bank = fields.String(attribute="bank_code", required=True)
    contract_no = fields.String(required=True)
    borrower_name = fields.String(required=True)
    borrower_id_number = fields.String(required=True)
    district = fields.String(required=True)
    principal = Money(required=True)
    principal_outstanding = Money(required=True)
    annual_rate_ppm = fields.Integer(required=True)
    disbursed_on = fields.Date(required=True)
    maturity = fields.Date(required=True)
    status = fields.String(required=True)
    fund = fields.String(required=True)


class LoanOut(Schema):
    id = fields.Integer(required=True)
    bank = fields.String(attribute="bank_code", required=True)
    contract_no = fields.String(required=True)
    principal = Money(required=True)
    annual_rate_ppm = fields.Integer(required=True)
    method = fields.String(required=True)
    disbursed_on = fields.Date(required=True)
    maturity_on = fields.Date(required=True)
    extended_to = nullable(fields.Date, required=True)
    coverage_ppm = fields.Integer(required=True)
    status = fields.String(required=True)
    repaid_on = nullable(fields.Date, required=True)
    fund = fields.String(required=True)


class BorrowerOut(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    id_number = fields.String(required=True)
    district = fields.String(required=True)
    borrower_type = fields.String(required=True)
    categories = fields.List(fields.String(), required=True)


class CommitmentOut(Schema):
    number = fields.String(required=True)
    amount = Money(required=True)
    term_months = fields.Integer(required=True)
    approved_on = fields.Date(required=True)
    status = fields.String(required=True)


class PositionOut(Schema):
    principal_paid = Money(required=True)
    principal_outstanding = Money(required=True)
    interest_paid = Money(required=True)
    overdue_principal = Money(required=True)
    overdue_interest = Money(required=True)
    days_overdue = fields.Integer(required=True)


class InstallmentOut(Schema):
    number = fields.Integer(required=True)
    due_on = fields.Date(required=True)
    principal = Money(required=True)
    interest = Money(required=True)


class RepaymentOut(Schema):
    id = fields.Integer(required=True)
    bank_ref = fields.String(required=True)
    paid_on = fields.Date(required=True)
    principal = Money(required=True)
    interest = Money(required=True)
    penalty = Money(required=True)
    reverses = nullable(fields.String, required=True)
    reversed_by = nullable(fields.String, required=True)
    entry_id = nullable(fields.Integer, required=True)


class ClaimOut(Schema):
    id = fields.Integer(required=True)
    number = fields.String(required=True)
    filed_on = fields.Date(required=True)
    days_overdue = fields.Integer(required=True)
    loss = Money(required=True)
    amount = Money(required=True)
    status = fields.String(required=True)


class LoanDetailOut(Schema):
    loan = fields.Nested(LoanOut, required=True)
    borrower = fields.Nested(BorrowerOut, required=True)
    commitment = fields.Nested(CommitmentOut, required=True)
    as_of = fields.Date(required=True)
    position = fields.Nested(PositionOut, required=True)
    exposure = Money(required=True)
    receivable = Money(required=True)
    schedule = fields.List(fields.Nested(InstallmentOut), required=True)
    repayments = fields.List(fields.Nested(RepaymentOut), required=True)
    claims = fields.List(fields.Nested(ClaimOut), required=True)
    entries = fields.List(
        fields.Nested(EntryOut),
        required=True,
        metadata={
            "description": "The entries on the loan's own accounts, each with its postings "
            "on those accounts only (a bank file's entry moves many loans; "
            "/api/v1/entries lists entries whole)."
        },
    )


class SourceOut(Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)
    kind = fields.String(required=True)
    fund = fields.String(required=True)
    contributed = Money(required=True)
    income = Money(required=True)
    losses = Money(required=True)
    net = SignedMoney(required=True)


class TallyOut(Schema):
    count = fields.Integer(required=True)
    principal = Money(required=True)


class BankLineOut(Schema):
    bank = fields.String(attribute="code", required=True)
    name = fields.String(required=True)
    fund = fields.String(required=True)
    placed = SignedMoney(required=True)
    exposure = SignedMoney(required=True)
    multiplier = fields.Integer(attribute="capacity.multiplier", required=True)
    cap = SignedMoney(required=True)
    remaining = SignedMoney(required=True)
    outstanding = fields.Nested(TallyOut, required=True)
    overdue = fields.Nested(TallyOut, required=True)


class AwaitingOut(Schema):
    allocations = fields.Integer(required=True)
    claims = fields.Integer(required=True)
    write_offs = fields.Integer(required=True)


class DashboardOut(Schema):
    """The dashboard's figures; a bank's token gets its own bank's lines and no capital."""

    on = fields.Date(required=True)
    fund = nullable(fields.String, required=True)
    banks = fields.List(fields.Nested(BankLineOut), required=True)
    capital = nullable(fields.List, fields.Nested(SourceOut), required=True)
    claims_paid = nullable(Money, required=True)
    recovered = nullable(Money, required=True)
    awaiting = nullable(fields.Nested, AwaitingOut, required=True)


class ReceiptOut(Schema):
    id = fields.Integer(required=True)
    bank = nullable(fields.String, required=True)
    kind = fields.String(required=True)
    file_name = fields.String(required=True)
    sha256 = fields.String(required=True)
    size = fields.Integer(required=True)
    status = fields.String(required=True, metadata={"enum": ["accepted", "rejected", "duplicate"]})
    rows = fields.Integer(required=True)
    posted = fields.Integer(required=True)
    skipped = fields.Integer(required=True)
    error_rows = fields.Integer(required=True)
    totals = fields.Dict(keys=fields.String(), values=Money(), required=True)
    entry_ids = fields.List(fields.Integer(), required=True)
    duplicate_of = nullable(fields.Integer, required=True)
    uploaded_by = fields.String(required=True)
    uploaded_at = Moment(required=True)
    message = nullable(fields.String, required=True)
    message_zh = nullable(fields.String, required=True)


class ErrorLineOut(Schema):
    row = nullable(fields.Integer, required=True)
    column = fields.String(required=True)
    value = fields.String(required=True)
    code = fields.String(required=True)
    message = fields.String(required=True)
    zh = fields.String(required=True)


class ReceiptDetailOut(ReceiptOut):
    errors = fields.List(fields.Nested(ErrorLineOut), required=True)
    errors_truncated = fields.Boolean(required=True)


class TaskProgressOut(Schema):
    read = fields.Integer(required=True, metadata={"description": "Data rows read."})
    checked = fields.Integer(
        required=True, metadata={"description": "Rows checked by the fund's operations."}
    )
    posted = fields.Integer(
        required=True,
        metadata={"description": "Rows posted (in the import's transaction until it is done)."},
    )
    total = nullable(
        fields.Integer, required=True,
        metadata={
            "description": "The file's data rows: once done, those the import read; before, "
            "those counted when it was queued (a CSV's lines after its header; an XLSX "
            "workbook's estimated from its size), never fewer than read."
        },
    )  # fmt: skip


class TaskOut(Schema):
    """A file too large to import during the request, queued for the import worker:
    poll it until it is done (then its receipt says what became of the file) or failed
    (the request itself was refused when the worker took it, or the import broke)."""

    id = fields.Integer(required=True)
    status = fields.String(
        required=True, metadata={"enum": ["queued", "running", "done", "failed"]}
    )
    bank = nullable(fields.String, attribute="bank_code", required=True)
    kind = fields.String(required=True)
    file_name = fields.String(required=True)
    size = fields.Integer(required=True, metadata={"description": "Bytes."})
    uploaded_by = fields.String(attribute="actor", required=True)
    enqueued_at = Moment(required=True)
    started_at = nullable(Moment, required=True)
    finished_at = nullable(Moment, required=True)
    progress = fields.Nested(TaskProgressOut, required=True)
    receipt_id = nullable(
        fields.Integer, required=True, metadata={"description": "Once done: the receipt."}
    )
    receipt_url = nullable(
        fields.String, required=True,
        metadata={"description": "Once done: the receipt's address in this API."},
    )  # fmt: skip
    error = nullable(
        fields.String, required=True,
        metadata={
            "description": "Once failed, why: the refusal's code and message (in English, "
            "then Chinese). Also the last attempt's, when one broke and it was queued again."
        },
    )  # fmt: skip


class RepaidOut(Schema):
    repayment = fields.Nested(RepaymentOut, required=True)
    created = fields.Boolean(
        required=True, metadata={"description": "false: the same repayment was posted before"}
    )
    loan = fields.Nested(LoanRowOut, required=True)
    entries = fields.List(fields.Nested(EntryOut), required=True)


class AllocationOut(Schema):
    id = fields.Integer(required=True)
    source = fields.String(attribute="source_code", required=True)
    source_name = fields.String(required=True)
    amount = Money(required=True)
    received_on = fields.Date(required=True)
    reference = fields.String(required=True)
    note = fields.String(required=True)
    status = fields.String(required=True)
    recorded_by = fields.String(required=True)
    decided_by = nullable(fields.String, required=True)
    entry_id = nullable(fields.Integer, required=True)
    entries = fields.List(fields.Nested(EntryOut), required=True)


class TokenOut(Schema):
    id = fields.Integer(required=True)
    bank = fields.String(required=True)
    name = fields.String(required=True)
    prefix = fields.String(required=True)
    principal = fields.String(required=True)
    active = fields.Boolean(required=True)
    created_by = fields.String(required=True)
    created_at = Moment(required=True)
    revoked_by = nullable(fields.String, required=True)
    revoked_at = nullable(Moment, required=True)
    last_used_at = nullable(Moment, required=True)


class IssuedTokenOut(TokenOut):
    secret = nullable(
        fields.String, required=True,
        metadata={"description": "Shown once; null when the response is replayed."},
    )  # fmt: skip


def page_of(item: type[Schema], name: str) -> type[Schema]:
    """The schema of a page of ``item``s."""
    cursor = fields.String(
        required=True, allow_none=True,
        metadata={"description": "?cursor= of the next page; null on the last."},
    )  # fmt: skip
    items = fields.List(fields.Nested(item), required=True)
    return Schema.from_dict({"items": items, "next_cursor": cursor}, name=name)


LoanPage = page_of(LoanRowOut, "LoanPage")
EntryPage = page_of(EntryOut, "EntryPage")
ReceiptPage = page_of(ReceiptOut, "ReceiptPage")
TokenPage = page_of(TokenOut, "TokenPage")


class FieldErrorOut(Schema):
    field = fields.String(required=True, metadata={"description": "The field, dotted if nested."})
    message = fields.String(required=True)
    zh = fields.String(required=True)


class ProblemOut(Schema):
    """An error, RFC 9457; ``code`` is stable, ``zh`` the message in Chinese."""

    type = fields.String(required=True)
    status = fields.Integer(required=True)
    title = fields.String(required=True)
    detail = fields.String(required=True)
    code = fields.String(required=True)
    zh = fields.String(required=True)
    instance = nullable(fields.String)
    key = fields.String(metadata={"description": "The Idempotency-Key, when it is at fault."})
    errors = fields.List(
        fields.Nested(FieldErrorOut), metadata={"description": "Each invalid field."}
    )
