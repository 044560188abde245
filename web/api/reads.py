"""The API's reads: loans (the list with the page's filters, one loan in full), the
dashboard, the journal's entries, the receipts of uploaded files and the tasks of the
files queued for the import worker. The same read
functions as the pages, the same masking of names and ID numbers, the same bank scope:
a bank's token reads its own bank's figures, and another bank's object is a 404."""

from __future__ import annotations

import itertools
from dataclasses import replace

from flask import abort, url_for
from sqlalchemy.exc import NoResultFound

from ledger.bankfiles.receipts import error_lines, get_receipt, receipts
from ledger.clock import business_today
from ledger.fund.errors import FundError
from ledger.fund.read.dashboard import dashboard as dashboard_of
from ledger.fund.read.loans import loan_detail, loans_page
from ledger.journal import entries_page
from ledger.journal import entry as entry_view
from ledger.ops.errors import UnknownTaskError
from ledger.ops.models import TaskStatus
from ledger.ops.queue import TaskView, get_task
from web.api import bp, paging
from web.api.schemas import (
    DashboardOut,
    DashboardQuery,
    EntriesQuery,
    EntryOut,
    EntryPage,
    LoanDetailOut,
    LoanPage,
    LoanQuery,
    LoanRowOut,
    LoansQuery,
    ReceiptDetailOut,
    ReceiptOut,
    ReceiptPage,
    ReceiptsQuery,
    TaskOut,
)
from web.api.spec import ID, doc, load_query
from web.authz import BUREAU, READERS, allow, bank_scope, own_bank, require_bank
from web.database import reading
from web.views.common import shown

#: The error lines a receipt lists at most (the whole report is the page's download).
MAX_ERROR_LINES = 1000


@bp.get("/loans")
@allow(*READERS)
@doc(
    "Loans, newest first or sorted", "loans", query=LoansQuery, response=LoanPage,
    errors=(400,),
    description="A bank's token lists its own bank's loans whatever `bank` says. `sort` "
    "orders them by a column (`-` first: descending), then by id; the cursor of a page "
    "serves only with the sort it was made with.",
)  # fmt: skip
def loans():
    q = load_query(LoansQuery)
    with reading() as s:
        page = loans_page(
            s, bank=bank_scope(q.get("bank")), district=q.get("district"),
            status=q.get("status"), fund=q.get("fund"), disbursed_from=q.get("from_"),
            disbursed_to=q.get("to"), search=q.get("q"), sort=q.get("sort"),
            after=paging.cursor(q.get("cursor")), limit=q["limit"],
        )  # fmt: skip
    page = replace(page, items=tuple(shown(r) for r in page.items))
    return paging.page_body(page, LoanRowOut(many=True))


@bp.get("/loans/<bank>/<contract_no>")
@allow(*READERS)
@doc(
    "One loan as of a date", "loans", query=LoanQuery, response=LoanDetailOut, errors=(400, 404),
    description="Its borrower, guarantee, position, schedule, repayments, claims and the "
    "journal entries that moved its accounts.",
)  # fmt: skip
def loan(bank: str, contract_no: str):
    require_bank(bank)
    q = load_query(LoanQuery)
    with reading() as s:
        try:
            detail = loan_detail(s, bank, contract_no, q.get("as_of") or business_today())
        except FundError:
            abort(404)
    return LoanDetailOut().dump(shown(detail))


@bp.get("/dashboard")
@allow(*READERS)
@doc(
    "The dashboard's figures", "dashboard", query=DashboardQuery, response=DashboardOut,
    errors=(400,),
    description="Per bank and fund: placed capital, exposure, cap, remaining capacity, loans "
    "outstanding and overdue. The bureau also gets capital by source, claims paid, recovered "
    "and what awaits approval; a bank's token gets its own bank's lines only (those null).",
)  # fmt: skip
def dashboard():
    q = load_query(DashboardQuery)
    bank = own_bank()
    with reading() as s:
        board = dashboard_of(s, business_today(), q.get("fund"))
    body = {
        "on": board.on, "fund": board.fund,
        "banks": [b for b in board.banks if bank is None or b.code == bank],
        "capital": board.capital if bank is None else None,
        "claims_paid": board.claims_paid if bank is None else None,
        "recovered": board.recovered if bank is None else None,
        "awaiting": board.awaiting if bank is None else None,
    }  # fmt: skip
    return DashboardOut().dump(body)


@bp.get("/entries")
@allow(*BUREAU)
@doc(
    "Journal entries, newest first or by effective date", "books", query=EntriesQuery,
    response=EntryPage,
    errors=(400,),
)  # fmt: skip
def entries():
    q = load_query(EntriesQuery)
    with reading() as s:
        page = entries_page(
            s, kind=q.get("kind"), account=q.get("account"), date_from=q.get("from_"),
            date_to=q.get("to"), sort=q.get("sort"), after=paging.cursor(q.get("cursor")),
            limit=q["limit"],
        )  # fmt: skip
    return paging.page_body(page, EntryOut(many=True))


@bp.get(f"/entries/<{ID}:entry_id>")
@allow(*BUREAU)
@doc("One journal entry with its postings", "books", response=EntryOut, errors=(404,))
def entry(entry_id: int):
    with reading() as s:
        found = entry_view(s, entry_id)
    if found is None:
        abort(404)
    return EntryOut().dump(found)


@bp.get("/receipts")
@allow(*READERS)
@doc(
    "Receipts of uploaded files, newest first or by upload time", "files", query=ReceiptsQuery,
    response=ReceiptPage, errors=(400,),
    description="A bank's token lists its own bank's receipts whatever `bank` says.",
)  # fmt: skip
def receipt_list():
    q = load_query(ReceiptsQuery)
    with reading() as s:
        page = receipts(
            s, bank=bank_scope(q.get("bank")), kind=q.get("kind"), status=q.get("status"),
            uploaded_from=q.get("from_"), uploaded_to=q.get("to"),
            sort=q.get("sort"), after=paging.cursor(q.get("cursor")), limit=q["limit"],
        )  # fmt: skip
    return paging.page_body(page, ReceiptOut(many=True))


@bp.get(f"/receipts/<{ID}:receipt_id>")
@allow(*READERS)
@doc(
    "One receipt, with its error lines", "files", response=ReceiptDetailOut, errors=(404,),
    description=f"The first {MAX_ERROR_LINES} error lines, in row order.",
)  # fmt: skip
def receipt(receipt_id: int):
    with reading() as s:
        body = receipt_body(s, receipt_id)
    return ReceiptDetailOut().dump(body)


def receipt_body(s, receipt_id: int) -> dict:
    """A receipt with its first error lines, or a 404 (also for another bank's)."""
    try:
        found = get_receipt(s, receipt_id)
    except NoResultFound:
        abort(404)
    if own_bank() is not None and found.bank != own_bank():
        abort(404)
    lines = list(itertools.islice(error_lines(s, receipt_id), MAX_ERROR_LINES + 1))
    return {
        **{f: getattr(found, f) for f in ReceiptOut().fields if f != "errors"},
        "errors": lines[:MAX_ERROR_LINES],
        "errors_truncated": len(lines) > MAX_ERROR_LINES,
    }


@bp.get(f"/files/tasks/<{ID}:task_id>")
@allow(*READERS)
@doc(
    "A queued upload's task, with its progress", "files", response=TaskOut, errors=(404,),
    description="A file too large to import during its upload is queued for the import "
    "worker (the upload answered 202 with this task and its address). Poll it: `queued`, "
    "`running` (rows read, checked and posted so far), then `done` with the receipt's id "
    "and address (the receipt says accepted, rejected with every bad row, or duplicate) or "
    "`failed` with the error. Another bank's task is a 404.",
)  # fmt: skip
def file_task(task_id: int):
    with reading() as s:
        try:
            found = get_task(s, task_id)
        except UnknownTaskError:
            abort(404)
    if own_bank() is not None and found.bank_code != own_bank():
        abort(404)
    return TaskOut().dump(task_body(found))


def task_body(task: TaskView) -> dict:
    """A task as :class:`TaskOut` answers it: its progress against the rows counted when
    it was queued (the rows read, once done), and its receipt's address once done."""
    done = task.status == TaskStatus.DONE
    if done or task.rows_expected is None:
        total = task.rows_read if done else None
    else:
        total = max(task.rows_expected, task.rows_read)
    progress = {
        "read": task.rows_read, "checked": task.rows_checked, "posted": task.rows_posted,
        "total": total,
    }  # fmt: skip
    receipt_url = url_for("api.receipt", receipt_id=task.receipt_id) if task.receipt_id else None
    return {**vars(task), "progress": progress, "receipt_url": receipt_url}
