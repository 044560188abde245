"""Borrowers and loans: the loan list with its filters and search, a loan's page (its
guarantee, schedule, repayments, overdue position, claims, recoveries,
counter-guarantees and every journal entry with its postings) and a borrower's page.
A bank user finds their own bank's loans only; another bank's is not found."""

from __future__ import annotations

from dataclasses import replace

from flask import Blueprint, abort, render_template, request
from flask_babel import gettext as _

from ledger.clock import business_today
from ledger.errors import FilterError
from ledger.fund.errors import FundError
from ledger.fund.funds import funds
from ledger.fund.models import LoanStatus
from ledger.fund.read.borrowers import borrower_detail
from ledger.fund.read.loans import loan_detail, loans_page
from ledger.fund.reference import banks, districts
from web.authz import READERS, allow, bank_scope, own_bank, require_bank
from web.database import reading
from web.views.common import date_arg, int_arg, page_size, shown, text_arg

bp = Blueprint("loans", __name__)


def status_labels() -> dict[str, str]:
    return {
        "active": _("active"), "repaid": _("repaid"), "claimed": _("compensated"),
        "written_off": _("written off"), "recovered": _("recovered"),
    }  # fmt: skip


@bp.get("/loans")
@allow(*READERS)
def index():
    error = None
    page = None
    with reading() as s:
        choices = {"banks": banks(s), "districts": districts(s), "funds": funds(s)}
        try:
            page = loans_page(
                s,
                bank=bank_scope(text_arg("bank")),
                district=text_arg("district"),
                status=text_arg("status"),
                fund=text_arg("fund"),
                disbursed_from=date_arg("from", _("Disbursed from")),
                disbursed_to=date_arg("to", _("Disbursed to")),
                search=text_arg("q"),
                sort=text_arg("sort"),
                after=text_arg("after"),
                before=int_arg("before"),
                limit=page_size(),
            )
        except FilterError as exc:
            error = exc
    if page is not None:
        page = replace(page, items=tuple(shown(r) for r in page.items))
    return render_template(
        "loans/list.html", page=page, error=error, statuses=status_labels(),
        all_statuses=[s.value for s in LoanStatus], own=own_bank(), **choices,
    ), (400 if error else 200)  # fmt: skip


@bp.get("/loans/<bank>/<contract_no>")
@allow(*READERS)
def show(bank: str, contract_no: str):
    require_bank(bank)
    as_of = date_arg("as_of", _("As of")) or business_today()
    with reading() as s:
        try:
            detail = loan_detail(s, bank, contract_no, as_of)
        except FundError:
            abort(404)
    return render_template(
        "loans/detail.html", d=shown(detail), statuses=status_labels(), today=business_today()
    )


@bp.get("/borrowers/<int:borrower_id>")
@allow(*READERS)
def borrower(borrower_id: int):
    with reading() as s:
        try:
            detail = borrower_detail(s, borrower_id)
        except FundError:
            abort(404)
    mine = own_bank()
    if mine is not None:
        loans = tuple(ln for ln in detail.loans if ln.bank_code == mine)
        commitments = tuple(c for c in detail.commitments if c.bank_code == mine)
        if not loans and not commitments:
            abort(404)
        detail = replace(detail, loans=loans, commitments=commitments)
    return render_template("loans/borrower.html", d=shown(detail), statuses=status_labels())


@bp.get("/search")
@allow(*READERS)
def search():
    """The header's search box: a contract number, an ID number or a name."""
    q = (request.args.get("q") or "").strip()
    from flask import redirect, url_for

    return redirect(url_for("loans.index", q=q) if q else url_for("loans.index"))
