"""The fund's operations as forms: guarantees (approve, record the project, cancel),
disbursements, repayments and their reversal, extensions, claims (file, approve, reject,
pay), recoveries, enforcing a counter-guarantee, write-offs (request, approve, reject).

Each form calls one operation of ``ledger.fund`` as the signed-in user. A refusal is
shown beside the field it concerns — the column a batch operation names, or the field an
error's kind points at — or above the form, and nothing is posted (the operation's
transaction rolls back). On success the page flashes what was done, with the journal
entries posted, and redirects to the record's page. A bank user's bank is fixed to their
own; a form posted for another bank is refused by the operation.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from markupsafe import Markup, escape
from sqlalchemy import select
from wtforms import (
    BooleanField,
    DateField,
    FieldList,
    Form,
    FormField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from ledger.clock import business_today
from ledger.errors import FilterError, LedgerError
from ledger.fund import claims, guarantees, loans, recoveries
from ledger.fund.approvals import GuaranteeRequest, approve_guarantees
from ledger.fund.disbursements import DisbursementLine, apply_disbursements
from ledger.fund.errors import (
    BankSuspendedError,
    ClaimError,
    CommitmentError,
    CounterGuaranteeError,
    CredentialError,
    DuplicateReferenceError,
    EligibilityError,
    ExtensionError,
    FundError,
    FundJurisdictionError,
    InvalidIdNumberError,
    LeverageCapError,
    LimitError,
    PermissionDeniedError,
    RecoveryError,
    ReferenceDataError,
    RepeatLoanError,
    RowsRejectedError,
    StateError,
    WriteOffError,
)
from ledger.fund.funds import check_fund, funds
from ledger.fund.models import (
    CLAIM_LIFECYCLE,
    WRITE_OFF_LIFECYCLE,
    Commitment,
    CounterGuarantee,
    Loan,
    Repayment,
)
from ledger.fund.read.claims import claim_detail, claims_page
from ledger.fund.read.loans import loan_detail
from ledger.fund.read.write_offs import write_off_detail, write_offs_page
from ledger.fund.reference import Role, banks
from ledger.fund.repayments import RepaymentLine, apply_repayments
from ledger.fund.schedule import METHOD_NAMES_ZH, Method
from ledger.fund.trades import PROJECT_KIND_NAMES_ZH, PROJECT_KINDS, catalogue
from ledger.money import MoneyError, yuan_to_fen
from web.authz import READERS, action, allow, bank_scope, can, own_bank, require_bank
from web.database import reading, write
from web.i18n import chinese, message
from web.views.common import date_arg, int_arg, page_size, shown, text_arg

bp = Blueprint("operations", __name__, url_prefix="/operations")

# ----------------------------------------------------------------------------- fields

_GROUPED = re.compile(r"^\d{1,3}(,\d{3})+(\.\d+)?$")
_PERCENT = re.compile(r"^\d{1,3}(\.\d{1,4})?$")
REQUIRED = _l("Required.")


def fen_of(text: str) -> int:
    """Yuan as typed ("1,234.50", "1234.5") → fen, exactly; never negative."""
    value = text.strip().replace("，", ",").replace(" ", "")
    if _GROUPED.match(value):
        value = value.replace(",", "")
    if value.startswith("-"):
        raise MoneyError(f"negative amount {text!r}")
    return yuan_to_fen(value)


class YuanField(StringField):
    """An amount in yuan; ``fen`` holds it in fen once the form validated (None if empty)."""

    fen: int | None = None

    def pre_validate(self, form):
        self.fen = None
        text = (self.data or "").strip()
        if text:
            try:
                self.fen = fen_of(text)
            except MoneyError:
                raise ValidationError(
                    _("Write an amount in yuan with at most two decimals, e.g. 1,234.50.")
                ) from None


class PercentField(StringField):
    """A rate in percent a year ("4.35"); ``ppm`` holds it in parts per million."""

    ppm: int | None = None

    def pre_validate(self, form):
        self.ppm = None
        text = (self.data or "").strip().removesuffix("%").strip()
        if text:
            if not _PERCENT.match(text):
                raise ValidationError(_("Write a rate in percent a year, e.g. 4.35."))
            self.ppm = int(Decimal(text).scaleb(4))


class WholeField(IntegerField):
    """A whole number, with the message in the page's language."""

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            self.data = None
            raise ValueError(_("Write a whole number.")) from None


class IsoDateField(DateField):
    """A date typed or picked as YYYY-MM-DD, with the message in the page's language."""

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            self.data = None
            raise ValueError(_("Write a date as YYYY-MM-DD.")) from None


def _bank_field():
    return SelectField(_l("Bank"), validators=[DataRequired(REQUIRED)], validate_choice=False)


def _date_field(label):
    return IsoDateField(label, validators=[InputRequired(REQUIRED)])


def _contract_field():
    return StringField(_l("Contract no."), validators=[DataRequired(REQUIRED), Length(max=60)])


# ----------------------------------------------------------------------------- forms


class GuarantorForm(Form):
    name = StringField(_l("Guarantor's name"), validators=[Optional(), Length(max=60)])
    id_number = StringField(_l("Guarantor's ID number"), validators=[Optional(), Length(max=18)])
    employer_type = SelectField(_l("Employer type"), validators=[Optional()])


class CollateralForm(Form):
    kind = SelectField(_l("Kind"), validators=[Optional()])
    value = YuanField(_l("Assessed value (yuan)"), validators=[Optional()])
    description = StringField(_l("Description"), validators=[Optional(), Length(max=200)])


class GuaranteeForm(FlaskForm):
    id_number = StringField(
        _l("Borrower's ID number"), validators=[DataRequired(REQUIRED), Length(max=18)]
    )
    bank = _bank_field()
    amount = YuanField(_l("Amount (yuan)"), validators=[DataRequired(REQUIRED)])
    term_months = WholeField(
        _l("Term (months)"),
        validators=[InputRequired(REQUIRED), NumberRange(1, 600, _l("From 1 to 600 months."))],
    )
    on = _date_field(_l("Approval date"))
    fund = SelectField(_l("Fund"), validators=[Optional()], validate_choice=False)
    project_kind = SelectField(_l("Project"), validators=[Optional()], validate_choice=False)
    trade = SelectField(_l("Trade"), validators=[Optional()], validate_choice=False)
    guarantors = FieldList(FormField(GuarantorForm), min_entries=2, max_entries=2)
    collateral = FieldList(FormField(CollateralForm), min_entries=2, max_entries=2)
    waiver = BooleanField(_l("Credit-community waiver"))


class ProjectForm(FlaskForm):
    number = StringField(_l("Commitment no."), validators=[DataRequired(REQUIRED), Length(max=40)])
    project_kind = SelectField(_l("Project"), validators=[DataRequired(REQUIRED)],
                               validate_choice=False)  # fmt: skip
    trade = SelectField(_l("Trade"), validators=[DataRequired(REQUIRED)], validate_choice=False)


class CancelForm(FlaskForm):
    number = StringField(_l("Commitment no."), validators=[DataRequired(REQUIRED), Length(max=40)])
    reason = StringField(_l("Reason"), validators=[DataRequired(REQUIRED), Length(max=500)])
    on = _date_field(_l("Cancellation date"))


class DisbursementForm(FlaskForm):
    bank = _bank_field()
    contract_no = _contract_field()
    guarantee_no = StringField(
        _l("Commitment no."), validators=[DataRequired(REQUIRED), Length(max=40)]
    )
    borrower_name = StringField(
        _l("Borrower's name"), validators=[DataRequired(REQUIRED), Length(max=60)]
    )
    id_number = StringField(
        _l("Borrower's ID number"), validators=[DataRequired(REQUIRED), Length(max=18)]
    )
    disbursed_on = _date_field(_l("Disbursed on"))
    maturity_on = _date_field(_l("Maturity"))
    principal = YuanField(_l("Principal (yuan)"), validators=[DataRequired(REQUIRED)])
    annual_rate = PercentField(_l("Rate (% a year)"), validators=[DataRequired(REQUIRED)])
    repayment_method = SelectField(_l("Repayment method"), validators=[DataRequired(REQUIRED)])


class RepaymentForm(FlaskForm):
    bank = _bank_field()
    bank_ref = StringField(
        _l("Bank reference"), validators=[DataRequired(REQUIRED), Length(max=60)]
    )
    contract_no = _contract_field()
    paid_on = _date_field(_l("Paid on"))
    principal = YuanField(_l("Principal (yuan)"), validators=[DataRequired(REQUIRED)])
    interest = YuanField(_l("Interest (yuan)"), validators=[DataRequired(REQUIRED)])
    penalty = YuanField(_l("Penalty interest (yuan)"), validators=[Optional()])
    balance_after = YuanField(_l("Bank's principal balance after it (yuan)"),
                              validators=[Optional()])  # fmt: skip
    id_number = StringField(_l("Borrower's ID number"), validators=[Optional(), Length(max=18)])


class ReversalForm(FlaskForm):
    bank = _bank_field()
    bank_ref = StringField(
        _l("The reversal's bank reference"), validators=[DataRequired(REQUIRED), Length(max=60)]
    )
    reversal_of = StringField(
        _l("Reference of the repayment reversed"),
        validators=[DataRequired(REQUIRED), Length(max=60)],
    )
    paid_on = _date_field(_l("Reversal date"))
    contract_no = StringField(_l("Contract no."), validators=[Optional(), Length(max=60)])


class ExtensionForm(FlaskForm):
    bank = _bank_field()
    contract_no = _contract_field()
    new_maturity = _date_field(_l("New maturity"))
    on = _date_field(_l("Date the extension was agreed"))


class ClaimFileForm(FlaskForm):
    bank = _bank_field()
    contract_no = _contract_field()
    on = _date_field(_l("Filing date"))


class RecoveryForm(FlaskForm):
    bank = _bank_field()
    contract_no = _contract_field()
    amount = YuanField(_l("Amount recovered (yuan)"), validators=[DataRequired(REQUIRED)])
    on = _date_field(_l("Recovery date"))
    reference = StringField(_l("Reference"), validators=[Optional(), Length(max=200)])


class EnforceForm(FlaskForm):
    counter_guarantee = WholeField(
        _l("Counter-guarantee no."), validators=[InputRequired(REQUIRED), NumberRange(min=1)]
    )
    proceeds = YuanField(_l("Proceeds (yuan, may be 0)"), validators=[InputRequired(REQUIRED)])
    on = _date_field(_l("Enforcement date"))


class WriteOffRequestForm(FlaskForm):
    bank = _bank_field()
    contract_no = _contract_field()
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(REQUIRED), Length(max=500)])
    on = _date_field(_l("Request date"))


class DecideForm(FlaskForm):
    """Approve or pay a claim, approve a write-off: the date."""

    on = _date_field(_l("Date"))


class RejectForm(FlaskForm):
    reason = StringField(_l("Reason"), validators=[DataRequired(REQUIRED), Length(max=500)])
    on = _date_field(_l("Date"))


# ----------------------------------------------------------------------------- helpers


def _bank_choices(field: SelectField) -> None:
    """A bank user's own bank only; the bureau chooses among every bank."""
    mine = own_bank()
    with reading() as s:
        every = banks(s)
    field.choices = [(b.code, f"{b.name} ({b.code})") for b in every if mine in (None, b.code)]
    if mine is None:
        field.choices.insert(0, ("", "—"))


def _prefill(form: FlaskForm, *names: str) -> None:
    """On a GET, fields from the query (the loan's page links here with its contract);
    dates default to the business date. A bank user's bank is their own."""
    if request.method != "GET":
        return
    for name in names:
        value = (request.args.get(name) or "").strip()
        if value:
            getattr(form, name).data = value
    for field in form:
        if isinstance(field, IsoDateField) and field.data is None:
            field.data = business_today()
    if "bank" in form and own_bank():
        form.bank.data = own_bank()


def _top(form: FlaskForm) -> list[str]:
    if not hasattr(form, "top_errors"):
        form.top_errors = []
    return form.top_errors


def _place(form: FlaskForm, error: LedgerError, fields: dict[type, str]) -> None:
    """Put ``error``'s message beside the field its kind points at, else above the form."""
    text = message(error)
    for kind in type(error).__mro__:
        name = fields.get(kind)
        if name is not None and name in form:
            form[name].errors = [*form[name].errors, text]
            return
    _top(form).append(text)


def _placed_rows(form: FlaskForm, rejected: RowsRejectedError, columns: dict[str, str]) -> None:
    """A batch operation's refused line: each error beside the column it names."""
    for line in rejected.errors:
        name = columns.get(line.column, line.column)
        text = message(line.error)
        if name in form:
            form[name].errors = [*form[name].errors, text]
        else:
            _top(form).append(text)


def _attempt(form: FlaskForm, work: Callable, fields: dict[type, str], columns=None):
    """Run ``work`` as one operation; on a refusal place its message and return None."""
    try:
        return write(work)
    except RowsRejectedError as rejected:
        _placed_rows(form, rejected, columns or {})
    except LedgerError as error:
        _place(form, error, fields)
    return None


def _entries(ids) -> Markup:
    """Links to the entries posted (the bureau reads the books; a bank sees numbers)."""
    ids = [i for i in ids if i]
    if not ids:
        return Markup(_("no journal entry"))
    if current_user.has(Role.BANK):
        links = [Markup("#{}").format(i) for i in ids]
    else:
        links = [
            Markup('<a href="{}">#{}</a>').format(url_for("books.entry", entry_id=i), i)
            for i in ids
        ]
    return Markup(", ").join(links)


def _done(text: str, entry_ids=()) -> None:
    done = _(
        "%(done)s Journal entries: %(entries)s", done=escape(text), entries=_entries(entry_ids)
    )
    flash(Markup(done), "ok")


def _render(template: str, form: FlaskForm, **context):
    failed = request.method == "POST"
    return render_template(f"operations/{template}", form=form, **context), 422 if failed else 200


def _to_loan(bank: str, contract_no: str):
    return redirect(url_for("loans.show", bank=bank, contract_no=contract_no.strip()))


def _with_bank(form) -> str:
    return (form.bank.data or "").strip()


#: Refusals of the operations on a loan, by kind → the field they concern.
LOAN_FIELDS = {PermissionDeniedError: "bank", StateError: "contract_no"}


# ----------------------------------------------------------------------------- the index

#: The forms, in the index's order: (action, endpoint, label, what it does).
FORMS = (
    ("guarantee.approve", ".guarantee", _l("Approve a guarantee"),
     _l("A numbered commitment for a registered borrower at a bank.")),
    ("guarantee.project", ".project", _l("Record a commitment's project"),
     _l("The project and trade of a commitment approved without them.")),
    ("guarantee.cancel", ".cancel", _l("Cancel a commitment"),
     _l("An unused commitment; its counter-guarantees are released.")),
    ("loan.disburse", ".disbursement", _l("Record a disbursement"),
     _l("A loan the bank disbursed against a commitment.")),
    ("loan.repay", ".repayment", _l("Record a repayment"),
     _l("A repayment the bank reported.")),
    ("loan.reverse", ".reversal", _l("Reverse a repayment"),
     _l("Cancel an earlier repayment (冲正).")),
    ("loan.extend", ".extension", _l("Extend a loan"),
     _l("A new maturity for an active loan that is not overdue.")),
    ("claim.file", ".claim_new", _l("File a claim"),
     _l("Compensation for a loan overdue long enough.")),
    ("recovery.record", ".recovery", _l("Record a recovery"),
     _l("Money recovered on a compensated loan.")),
    ("counter-guarantee.enforce", ".enforce", _l("Enforce a counter-guarantee"),
     _l("Its proceeds are a recovery.")),
    ("write-off.request", ".write_off_new", _l("Request a write-off"),
     _l("What is left of a compensation receivable.")),
)  # fmt: skip

WAITING = 10


@bp.get("")
@allow(*READERS)
def index():
    bank = own_bank()
    with reading() as s:
        filed = claims_page(s, bank=bank, status="filed", limit=WAITING)
        approved = claims_page(s, bank=bank, status="approved", limit=WAITING)
        requested = write_offs_page(s, bank=bank, status="requested", limit=WAITING)
    offered = [(endpoint, label, hint) for name, endpoint, label, hint in FORMS if can(name)]
    return render_template(
        "operations/index.html", offered=offered,
        filed=[shown(c) for c in filed.items], more_filed=filed.next_before is not None,
        approved=[shown(c) for c in approved.items],
        more_approved=approved.next_before is not None,
        requested=[shown(w) for w in requested.items],
        more_requested=requested.next_before is not None,
    )  # fmt: skip


# ----------------------------------------------------------------------------- guarantees

GUARANTEE_COLUMNS = {"term_months": "term_months", "counter_guarantees": "waiver"}
GUARANTEE_FIELDS = {
    InvalidIdNumberError: "id_number", EligibilityError: "id_number",
    CredentialError: "id_number", RepeatLoanError: "id_number", LimitError: "amount",
    BankSuspendedError: "bank", CounterGuaranteeError: "waiver",
    FundJurisdictionError: "fund",
}  # fmt: skip


def _guarantee_choices(form: GuaranteeForm) -> None:
    _bank_choices(form.bank)
    with reading() as s:
        every = funds(s)
    form.fund.choices = [("", _("The borrower's district's fund, else the city's"))] + [
        (f.code, f"{f.name} ({f.code})") for f in every
    ]
    _project_choices(form)
    employers = guarantees.EMPLOYER_TYPE_NAMES_ZH
    kinds = [k for k in guarantees.KINDS if k not in ("guarantor", "credit_community")]
    for entry in form.guarantors:
        entry.employer_type.choices = [("", "—")] + [
            (k, _name(k, employers)) for k in guarantees.EMPLOYER_TYPES
        ]
    for entry in form.collateral:
        entry.kind.choices = [("", "—")] + [(k, _name(k, guarantees.KIND_NAMES_ZH)) for k in kinds]


def _project_choices(form) -> None:
    form.project_kind.choices = [("", "—")] + [
        (k, _name(k, PROJECT_KIND_NAMES_ZH)) for k in PROJECT_KINDS
    ]
    form.trade.choices = [("", "—")] + [
        (code, f"{code} {name}") for code, name in catalogue().items()
    ]


def _name(code: str, names_zh: dict) -> str:
    return f"{names_zh[code]}" if chinese() else code.replace("_", " ")


def _specs(form: GuaranteeForm) -> tuple[guarantees.CounterGuaranteeSpec, ...]:
    specs = []
    for g in form.guarantors:
        if (g.form.name.data or "").strip() or (g.form.id_number.data or "").strip():
            specs.append(
                guarantees.CounterGuaranteeSpec(
                    "guarantor", 0, guarantor_name=(g.form.name.data or "").strip(),
                    guarantor_id_number=(g.form.id_number.data or "").strip() or None,
                    employer_type=g.form.employer_type.data or None,
                )
            )  # fmt: skip
    for c in form.collateral:
        if c.form.kind.data:
            specs.append(
                guarantees.CounterGuaranteeSpec(
                    c.form.kind.data, c.form.value.fen or 0,
                    description=(c.form.description.data or "").strip(),
                )
            )  # fmt: skip
    if form.waiver.data:
        specs.append(guarantees.CounterGuaranteeSpec("credit_community"))
    return tuple(specs)


@bp.route("/guarantees/new", methods=["GET", "POST"])
@action("guarantee.approve")
def guarantee():
    form = GuaranteeForm()
    _guarantee_choices(form)
    _prefill(form, "id_number", "bank")
    if form.validate_on_submit():
        req = GuaranteeRequest(
            form.id_number.data.strip(), _with_bank(form), form.amount.fen,
            form.term_months.data, form.on.data, _specs(form), fund=form.fund.data or None,
            project_kind=form.project_kind.data or None, trade=form.trade.data or None,
        )  # fmt: skip
        actor = current_user.principal

        def work(s):
            (approved,) = approve_guarantees(s, [req], actor=actor)
            c = s.get(Commitment, approved.id)
            return c.number, c.borrower_id

        done = _attempt(form, work, GUARANTEE_FIELDS, GUARANTEE_COLUMNS)
        if done is not None:
            number, borrower_id = done
            flash(_("Commitment %(number)s approved.", number=number), "ok")
            return redirect(url_for("loans.borrower", borrower_id=borrower_id))
    return _render("guarantee.html", form)


@bp.route("/guarantees/project", methods=["GET", "POST"])
@action("guarantee.project")
def project():
    form = ProjectForm()
    _project_choices(form)
    _prefill(form, "number")
    if form.validate_on_submit():
        actor = current_user.principal
        done = _attempt(
            form,
            lambda s: guarantees.record_project(
                s, form.number.data, project_kind=form.project_kind.data,
                trade=form.trade.data, actor=actor,
            ).borrower_id,
            {StateError: "number", FundError: "trade"},
        )  # fmt: skip
        if done is not None:
            flash(_("The project of commitment %(n)s was recorded.", n=form.number.data), "ok")
            return redirect(url_for("loans.borrower", borrower_id=done))
    return _render("form.html", form, title=_("Record a commitment's project"),
                   action_label=_("Record"))  # fmt: skip


@bp.route("/guarantees/cancel", methods=["GET", "POST"])
@action("guarantee.cancel")
def cancel():
    form = CancelForm()
    _prefill(form, "number")
    if form.validate_on_submit():
        actor = current_user.principal
        number = form.number.data.strip()

        def work(s):
            c = guarantees.cancel_commitment(s, number, form.reason.data, form.on.data,
                                             actor=actor)  # fmt: skip
            return c.borrower_id

        done = _attempt(form, work, {StateError: "number"})
        if done is not None:
            flash(_("Commitment %(n)s was cancelled.", n=number), "ok")
            return redirect(url_for("loans.borrower", borrower_id=done))
    return _render("form.html", form, title=_("Cancel a commitment"),
                   action_label=_("Cancel the commitment"))  # fmt: skip


# ----------------------------------------------------------------------------- loans


def _method_choices(field) -> None:
    field.choices = [("", "—")] + [(m.value, _name(m.value, METHOD_NAMES_ZH)) for m in Method]


@bp.route("/disbursements/new", methods=["GET", "POST"])
@action("loan.disburse")
def disbursement():
    form = DisbursementForm()
    _bank_choices(form.bank)
    _method_choices(form.repayment_method)
    _prefill(form, "bank", "contract_no", "guarantee_no")
    if form.validate_on_submit():
        bank = _with_bank(form)
        line = DisbursementLine(
            form.contract_no.data.strip(), form.guarantee_no.data.strip(),
            form.borrower_name.data.strip(), form.id_number.data.strip(),
            form.disbursed_on.data, form.maturity_on.data, form.principal.fen,
            form.annual_rate.ppm, form.repayment_method.data, row=1,
        )  # fmt: skip
        actor = current_user.principal
        done = _attempt(
            form,
            lambda s: apply_disbursements(s, bank=bank, lines=[line], actor=actor),
            {PermissionDeniedError: "bank", LeverageCapError: "principal",
             CommitmentError: "guarantee_no"},
        )  # fmt: skip
        if done is not None:
            if done.posted:
                _done(_("Loan %(c)s disbursed.", c=line.contract_no), done.entry_ids)
            else:
                flash(_("Loan %(c)s was already recorded.", c=line.contract_no), "info")
            return _to_loan(bank, line.contract_no)
    return _render("form.html", form, title=_("Record a disbursement"),
                   action_label=_("Record the disbursement"))  # fmt: skip


REPAYMENT_COLUMNS = {"paid_on": "paid_on"}


@bp.route("/repayments/new", methods=["GET", "POST"])
@action("loan.repay")
def repayment():
    form = RepaymentForm()
    _bank_choices(form.bank)
    _prefill(form, "bank", "contract_no")
    if form.validate_on_submit():
        bank = _with_bank(form)
        line = RepaymentLine(
            form.bank_ref.data.strip(), form.contract_no.data.strip(), form.paid_on.data,
            form.principal.fen, form.interest.fen, form.penalty.fen or 0,
            (form.id_number.data or "").strip() or None, form.balance_after.fen, row=1,
        )  # fmt: skip
        actor = current_user.principal
        done = _attempt(
            form,
            lambda s: apply_repayments(s, bank=bank, lines=[line], actor=actor),
            {PermissionDeniedError: "bank", DuplicateReferenceError: "bank_ref"},
            REPAYMENT_COLUMNS,
        )
        if done is not None:
            if done.posted:
                _done(_("Repayment %(r)s recorded.", r=line.bank_ref), done.entry_ids)
            else:
                flash(_("Repayment %(r)s was already recorded.", r=line.bank_ref), "info")
            return _to_loan(bank, line.contract_no)
    return _render("form.html", form, title=_("Record a repayment"),
                   action_label=_("Record the repayment"))  # fmt: skip


@bp.route("/reversals/new", methods=["GET", "POST"])
@action("loan.reverse")
def reversal():
    form = ReversalForm()
    _bank_choices(form.bank)
    _prefill(form, "bank", "contract_no", "reversal_of")
    if form.validate_on_submit():
        bank = _with_bank(form)
        line = RepaymentLine(
            form.bank_ref.data.strip(), (form.contract_no.data or "").strip() or None,
            form.paid_on.data, None, None, reversal_of=form.reversal_of.data.strip(), row=1,
        )  # fmt: skip
        actor = current_user.principal

        def work(s):
            batch = apply_repayments(s, bank=bank, lines=[line], actor=actor)
            reversal = s.get(Repayment, batch.results[0].repayment_id)
            return batch, s.get(Loan, reversal.loan_id).contract_no

        done = _attempt(
            form, work, {PermissionDeniedError: "bank", DuplicateReferenceError: "bank_ref"}
        )
        if done is not None:
            batch, contract_no = done
            if batch.posted:
                _done(_("Repayment %(r)s reversed.", r=line.reversal_of), batch.entry_ids)
            else:
                flash(_("The reversal %(r)s was already recorded.", r=line.bank_ref), "info")
            return _to_loan(bank, contract_no)
    return _render("form.html", form, title=_("Reverse a repayment"),
                   action_label=_("Reverse the repayment"))  # fmt: skip


@bp.route("/extensions/new", methods=["GET", "POST"])
@action("loan.extend")
def extension():
    form = ExtensionForm()
    _bank_choices(form.bank)
    _prefill(form, "bank", "contract_no")
    if form.validate_on_submit():
        bank, contract_no = _with_bank(form), form.contract_no.data.strip()
        actor = current_user.principal
        done = _attempt(
            form,
            lambda s: loans.extend_loan(
                s, bank=bank, contract_no=contract_no, new_maturity=form.new_maturity.data,
                on=form.on.data, actor=actor,
            ).new_maturity,
            {**LOAN_FIELDS, ExtensionError: "new_maturity"},
        )  # fmt: skip
        if done is not None:
            flash(_("Loan %(c)s extended to %(d)s.", c=contract_no, d=done.isoformat()), "ok")
            return _to_loan(bank, contract_no)
    return _render("form.html", form, title=_("Extend a loan"),
                   action_label=_("Extend the loan"))  # fmt: skip


# ----------------------------------------------------------------------------- claims


@bp.route("/claims/new", methods=["GET", "POST"])
@action("claim.file")
def claim_new():
    form = ClaimFileForm()
    _bank_choices(form.bank)
    _prefill(form, "bank", "contract_no")
    if form.validate_on_submit():
        bank, contract_no = _with_bank(form), form.contract_no.data.strip()
        actor = current_user.principal
        done = _attempt(
            form,
            lambda s: (
                claims.file_claim(
                    s, bank=bank, contract_no=contract_no, on=form.on.data, actor=actor
                ).number
            ),
            {**LOAN_FIELDS, ClaimError: "on"},
        )
        if done is not None:
            flash(_("Claim %(n)s filed.", n=done), "ok")
            return redirect(url_for(".claim", number=done))
    return _render("form.html", form, title=_("File a claim"),
                   action_label=_("File the claim"))  # fmt: skip


def _statuses(names_zh: dict[str, str]) -> dict[str, str]:
    """A lifecycle's statuses, named in the page's language."""
    return {k: (zh if chinese() else k.replace("_", " ")) for k, zh in names_zh.items()}


def claim_statuses() -> dict[str, str]:
    return _statuses(CLAIM_LIFECYCLE.names_zh)


@bp.get("/claims")
@allow(*READERS)
def claims_list():
    error = page = None
    with reading() as s:
        every, every_fund = banks(s), funds(s)
        try:
            page = claims_page(
                s, bank=bank_scope(text_arg("bank")), status=text_arg("status"),
                filed_from=date_arg("from", _("Filed from")),
                filed_to=date_arg("to", _("Filed to")), fund=check_fund(s, text_arg("fund")),
                sort=text_arg("sort"), after=text_arg("after"), before=int_arg("before"),
                limit=page_size(),
            )  # fmt: skip
        except (FilterError, ReferenceDataError) as exc:  # an unknown fund: the latter
            error = exc
    items = [shown(c) for c in page.items] if page else []
    return render_template(
        "operations/claims.html", page=page, items=items, error=error, banks=every,
        funds=every_fund, statuses=claim_statuses(), own=own_bank(),
    ), 400 if error else 200  # fmt: skip


def _claim_page(number: str, forms: dict | None = None, status: int = 200):
    with reading() as s:
        found = claim_detail(s, number)
    if found is None:
        abort(404)
    require_bank(found.bank_code)
    forms = forms or {}
    mine = current_user.username
    deciding = found.status == "filed" and mine != found.filed_by
    return render_template(
        "operations/claim.html", c=shown(found), statuses=claim_statuses(),
        approve=forms.get("approve") or DecideForm(prefix="approve", formdata=None,
                                                     data={"on": business_today()}),
        reject=forms.get("reject") or RejectForm(prefix="reject", formdata=None,
                                                 data={"on": business_today()}),
        pay=forms.get("pay") or DecideForm(prefix="pay", formdata=None,
                                           data={"on": business_today()}),
        may_decide=deciding and can("claim.approve"),
        may_pay=found.status == "approved" and can("claim.pay"),
        top_errors=(forms.get("top") or []),
    ), status  # fmt: skip


@bp.get("/claims/<number>")
@allow(*READERS)
def claim(number: str):
    return _claim_page(number)


def _decide(
    detail,
    page,
    error_type,
    name: str,
    form: FlaskForm,
    work: Callable,
    done_text: str,
    done_url: str,
):
    """A decision on a claim or a write-off from its page: the record of another bank is
    a 404; a refusal shows on the page again (422); a success names its entry."""
    with reading() as s:
        found = detail(s)
    if found is None:
        abort(404)
    require_bank(found.bank_code)
    if form.validate_on_submit():
        result = _attempt(form, work, {error_type: "on"})
        if result is not None:
            _done(done_text, [result])
            return redirect(done_url)
    return page({name: form, "top": getattr(form, "top_errors", [])}, 422)


def _claim_action(number: str, name: str, form: FlaskForm, work: Callable, done_text: str):
    return _decide(
        lambda s: claim_detail(s, number), lambda f, st: _claim_page(number, f, st),
        ClaimError, name, form, work, done_text, url_for(".claim", number=number),
    )  # fmt: skip


@bp.post("/claims/<number>/approve")
@action("claim.approve")
def claim_approve(number: str):
    form = DecideForm(prefix="approve")
    actor = current_user.principal
    return _claim_action(
        number, "approve", form,
        lambda s: claims.approve_claim(s, number, on=form.on.data, actor=actor).approve_entry_id,
        _("Claim %(n)s approved.", n=number),
    )  # fmt: skip


@bp.post("/claims/<number>/reject")
@action("claim.reject")
def claim_reject(number: str):
    form = RejectForm(prefix="reject")
    actor = current_user.principal

    def work(s):
        claims.reject_claim(s, number, form.reason.data, on=form.on.data, actor=actor)
        return 0

    return _claim_action(number, "reject", form, work, _("Claim %(n)s rejected.", n=number))


@bp.post("/claims/<number>/pay")
@action("claim.pay")
def claim_pay(number: str):
    form = DecideForm(prefix="pay")
    actor = current_user.principal
    return _claim_action(
        number, "pay", form,
        lambda s: claims.pay_claim(s, number, on=form.on.data, actor=actor).pay_entry_id,
        _("Claim %(n)s paid.", n=number),
    )  # fmt: skip


# ----------------------------------------------------------------------------- recoveries


@bp.route("/recoveries/new", methods=["GET", "POST"])
@action("recovery.record")
def recovery():
    form = RecoveryForm()
    _bank_choices(form.bank)
    _prefill(form, "bank", "contract_no")
    if form.validate_on_submit():
        bank, contract_no = _with_bank(form), form.contract_no.data.strip()
        actor = current_user.principal
        done = _attempt(
            form,
            lambda s: recoveries.record_recovery(
                s, bank=bank, contract_no=contract_no, amount=form.amount.fen,
                on=form.on.data, actor=actor, reference=form.reference.data or "",
            ).entry_id,
            {**LOAN_FIELDS, ClaimError: "contract_no", RecoveryError: "amount"},
        )  # fmt: skip
        if done is not None:
            _done(_("Recovery on loan %(c)s recorded.", c=contract_no), [done])
            return _to_loan(bank, contract_no)
    return _render("form.html", form, title=_("Record a recovery"),
                   action_label=_("Record the recovery"))  # fmt: skip


@bp.route("/counter-guarantees/enforce", methods=["GET", "POST"])
@action("counter-guarantee.enforce")
def enforce():
    form = EnforceForm()
    _prefill(form, "counter_guarantee")
    held = None
    bank, contract_no = text_arg("bank"), text_arg("contract_no")
    if bank and contract_no:
        with reading() as s:
            try:
                held = shown(loan_detail(s, bank, contract_no, business_today()))
            except FundError:
                held = None
    if form.validate_on_submit():
        actor = current_user.principal

        def work(s):
            row = recoveries.enforce_counter_guarantee(
                s, form.counter_guarantee.data, proceeds=form.proceeds.fen, on=form.on.data,
                actor=actor,
            )  # fmt: skip
            item = s.get(CounterGuarantee, form.counter_guarantee.data)
            loan = s.scalar(select(Loan).where(Loan.commitment_id == item.commitment_id))
            return loan.bank_code, loan.contract_no, [item.close_entry_id, row and row.entry_id]

        done = _attempt(form, work, {CounterGuaranteeError: "counter_guarantee"})
        if done is not None:
            bank, contract_no, ids = done
            _done(_("Counter-guarantee %(n)s enforced.", n=form.counter_guarantee.data), ids)
            return _to_loan(bank, contract_no)
    return _render("enforce.html", form, detail=held)


# ----------------------------------------------------------------------------- write-offs


@bp.route("/write-offs/new", methods=["GET", "POST"])
@action("write-off.request")
def write_off_new():
    form = WriteOffRequestForm()
    _bank_choices(form.bank)
    _prefill(form, "bank", "contract_no")
    if form.validate_on_submit():
        bank, contract_no = _with_bank(form), form.contract_no.data.strip()
        actor = current_user.principal
        done = _attempt(
            form,
            lambda s: recoveries.request_write_off(
                s, bank=bank, contract_no=contract_no, reason=form.reason.data,
                on=form.on.data, actor=actor,
            ).id,
            {**LOAN_FIELDS, ClaimError: "contract_no", WriteOffError: "contract_no"},
        )  # fmt: skip
        if done is not None:
            flash(_("Write-off %(n)s requested.", n=done), "ok")
            return redirect(url_for(".write_off", write_off_id=done))
    return _render("form.html", form, title=_("Request a write-off"),
                   action_label=_("Request the write-off"))  # fmt: skip


def write_off_statuses() -> dict[str, str]:
    return _statuses(WRITE_OFF_LIFECYCLE.names_zh)


@bp.get("/write-offs")
@allow(*READERS)
def write_offs_list():
    error = page = None
    try:
        with reading() as s:
            page = write_offs_page(
                s, bank=bank_scope(text_arg("bank")), status=text_arg("status"),
                fund=text_arg("fund"), before=int_arg("before"), limit=50,
            )  # fmt: skip
    except FilterError as exc:
        error = exc
    items = [shown(w) for w in page.items] if page else []
    return render_template(
        "operations/write_offs.html", page=page, items=items, error=error,
        statuses=write_off_statuses(),
    ), 400 if error else 200  # fmt: skip


def _write_off_page(write_off_id: int, forms: dict | None = None, status: int = 200):
    with reading() as s:
        found = write_off_detail(s, write_off_id)
    if found is None:
        abort(404)
    require_bank(found.bank_code)
    forms = forms or {}
    deciding = found.status == "requested" and current_user.username != found.requested_by
    return render_template(
        "operations/write_off.html", w=shown(found), statuses=write_off_statuses(),
        approve=forms.get("approve") or DecideForm(prefix="approve", formdata=None,
                                                     data={"on": business_today()}),
        reject=forms.get("reject") or RejectForm(prefix="reject", formdata=None,
                                                 data={"on": business_today()}),
        may_decide=deciding and can("write-off.approve"),
        top_errors=(forms.get("top") or []),
    ), status  # fmt: skip


@bp.get("/write-offs/<int:write_off_id>")
@allow(*READERS)
def write_off(write_off_id: int):
    return _write_off_page(write_off_id)


def _write_off_action(write_off_id: int, name: str, form: FlaskForm, work, done_text: str):
    return _decide(
        lambda s: write_off_detail(s, write_off_id),
        lambda f, st: _write_off_page(write_off_id, f, st), WriteOffError, name, form, work,
        done_text, url_for(".write_off", write_off_id=write_off_id),
    )  # fmt: skip


@bp.post("/write-offs/<int:write_off_id>/approve")
@action("write-off.approve")
def write_off_approve(write_off_id: int):
    form = DecideForm(prefix="approve")
    actor = current_user.principal
    return _write_off_action(
        write_off_id, "approve", form,
        lambda s: recoveries.approve_write_off(
            s, write_off_id, on=form.on.data, actor=actor
        ).entry_id,
        _("Write-off %(n)s approved.", n=write_off_id),
    )  # fmt: skip


@bp.post("/write-offs/<int:write_off_id>/reject")
@action("write-off.reject")
def write_off_reject(write_off_id: int):
    form = RejectForm(prefix="reject")
    actor = current_user.principal

    def work(s):
        recoveries.reject_write_off(s, write_off_id, form.reason.data, on=form.on.data,
                                    actor=actor)  # fmt: skip
        return 0

    return _write_off_action(
        write_off_id, "reject", form, work, _("Write-off %(n)s rejected.", n=write_off_id)
    )
