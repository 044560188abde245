"""Bank files: a partner bank's upload (or a clerk's, for a bank), its receipt, the error
report of a rejected file (CSV and XLSX), and the past uploads.

Every upload goes through ``ledger.bankfiles.imports.import_file`` and gets a receipt. A
file small enough is imported during the request; a larger one (more than
``BACKGROUND_ROWS`` data rows, counted cheaply: see :func:`data_rows`) is queued for the
scheduler's import worker (``ledger.ops.queue.enqueue_import``) and its page shows the
worker's progress. The request never pauses anything process-wide: the import worker,
not the web server, may pause the garbage collector.

The saved file stays under ``UPLOAD_FOLDER`` (one folder per China date, a random name
keeping only a short extension); the receipt keeps the name the uploader gave. The
import worker reads a queued file from there, so it must see the same folder.
"""

from __future__ import annotations

import io
import tempfile
from itertools import islice
from pathlib import Path

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from sqlalchemy.exc import NoResultFound
from wtforms import SelectField

from ledger.bankfiles.kinds import BANK_KINDS, KINDS
from ledger.bankfiles.models import ImportStatus
from ledger.bankfiles.receipts import error_lines, get_receipt, receipts
from ledger.bankfiles.reports import write_csv, write_xlsx
from ledger.errors import FilterError, LedgerError
from ledger.fund.reference import banks
from ledger.journal import entry_views
from ledger.ops.errors import UnknownTaskError
from ledger.ops.models import TaskStatus
from ledger.ops.queue import get_task, tasks_page
from web.authz import READERS, action, allow, bank_scope, can, own_bank, require_bank
from web.database import reading
from web.i18n import chinese, message
from web.uploads import display_name, import_or_queue, save_upload
from web.views.common import date_arg, int_arg, text_arg

bp = Blueprint("files", __name__, url_prefix="/files")

#: Error lines shown on a receipt's page; the reports hold them all.
SHOWN_ERRORS = 200
#: Entries shown with their postings on a receipt's page.
SHOWN_ENTRIES = 50


def kind_labels() -> dict[str, str]:
    return {
        "disbursement": _("Disbursement file"), "repayment": _("Repayment file"),
        "balances": _("Loan balance file"), "statement": _("Special account statement"),
        "borrowers": _("Borrowers list"), "guarantees": _("Guarantees list"),
    }  # fmt: skip


def status_labels() -> dict[str, str]:
    return {
        "accepted": _("accepted"), "rejected": _("rejected"), "duplicate": _("duplicate"),
        "queued": _("queued"), "running": _("running"), "done": _("done"),
        "failed": _("failed"),
    }  # fmt: skip


class UploadForm(FlaskForm):
    kind = SelectField(_l("Kind of file"))
    bank = SelectField(_l("Bank"))
    file = FileField(_l("File"), validators=[FileRequired(_l("Choose the file to upload."))])


def _upload_form(bank_choices) -> UploadForm:
    form = UploadForm()
    labels = kind_labels()
    form.kind.choices = [(name, labels[name]) for name in BANK_KINDS]
    if not form.is_submitted():
        form.kind.data = "repayment"  # what a bank sends most
    mine = own_bank()
    form.bank.choices = [
        (b.code, f"{b.name} ({b.code})") for b in bank_choices if mine is None or b.code == mine
    ]
    if mine is not None:
        form.bank.data = mine
    return form


# ----------------------------------------------------------------------------- the list


@bp.get("")
@allow(*READERS)
def index():
    return _index(None)


def _index(form: UploadForm | None, status: int = 200, refusal: str | None = None):
    """The past uploads (filtered, a keyset page), the uploads waiting for the worker,
    and the upload form for whoever may upload."""
    error = page = None
    scope = bank_scope(text_arg("bank"))
    with reading() as s:
        every_bank = banks(s)
        try:
            page = receipts(
                s, bank=scope, kind=text_arg("kind"), status=text_arg("status"),
                uploaded_from=date_arg("from", _("Uploaded from")),
                uploaded_to=date_arg("to", _("Uploaded to")), sort=text_arg("sort"),
                after=text_arg("after"), before=int_arg("before"),
                limit=current_app.config["PAGE_SIZE"],
            )  # fmt: skip
        except FilterError as exc:
            error = exc
        waiting = [
            task
            for state in (TaskStatus.RUNNING, TaskStatus.QUEUED)
            for task in tasks_page(s, status=state, bank=own_bank(), limit=20).items
        ]
    if form is None and can("file.upload"):
        form = _upload_form(every_bank)
    return render_template(
        "files/index.html", page=page, error=error, form=form, refusal=refusal,
        waiting=waiting, banks=every_bank, own=own_bank(), kinds=kind_labels(),
        statuses=status_labels(), all_statuses=[s.value for s in ImportStatus],
    ), status if status != 200 else (400 if error else 200)  # fmt: skip


# --------------------------------------------------------------------------- the upload


@bp.post("")
@action("file.upload")
def upload():
    mine = own_bank()
    asked = (request.form.get("bank") or "").strip()
    if mine is not None and asked and asked != mine:
        abort(403)  # the form offers a bank user their own bank only
    with reading() as s:
        form = _upload_form(banks(s))
    if not form.validate_on_submit():
        return _index(form, 422)
    kind, bank = form.kind.data, mine or form.bank.data
    upload = form.file.data
    name = display_name(upload.filename)
    saved = save_upload(upload)
    try:
        task, receipt = import_or_queue(
            kind=kind, bank=bank, saved=saved, name=name, actor=current_user.principal
        )
    except LedgerError as exc:
        return _index(form, 422, refusal=message(exc))
    if task is not None:
        flash(_("The file is large: it is imported in the background."), "info")
        return redirect(url_for(".task", task_id=task.id))
    flash(*_outcome(receipt))
    return redirect(url_for(".show", receipt_id=receipt.id))


def _outcome(receipt) -> tuple[str, str]:
    if receipt.status == ImportStatus.ACCEPTED:
        return _("File accepted: %(n)s rows posted.", n=receipt.posted), "ok"
    if receipt.status == ImportStatus.DUPLICATE:
        return _("This file was imported before: nothing was posted again."), "info"
    return _("File rejected: nothing was posted. Correct the rows below and upload it again."), (
        "error"
    )


# -------------------------------------------------------------------------- the receipt


def _receipt_or_404(s, receipt_id: int):
    try:
        receipt = get_receipt(s, receipt_id)
    except NoResultFound:
        abort(404)
    require_bank(receipt.bank)
    return receipt


@bp.get("/<int:receipt_id>")
@allow(*READERS)
def show(receipt_id: int):
    with reading() as s:
        receipt = _receipt_or_404(s, receipt_id)
        problems = list(islice(error_lines(s, receipt_id), SHOWN_ERRORS))
        entries = entry_views(s, receipt.entry_ids[:SHOWN_ENTRIES])
    columns = {c.field: c for c in KINDS[receipt.kind].columns}
    place = {name: n for n, name in enumerate(columns)}  # totals in the columns' order
    totals = sorted(receipt.totals.items(), key=lambda t: (place.get(t[0], len(place)), t[0]))
    return render_template(
        "files/receipt.html", r=receipt, problems=problems, entries=entries, totals=totals,
        columns=columns, zh=chinese(), kinds=kind_labels(), statuses=status_labels(),
        entry_links=own_bank() is None, shown_errors=SHOWN_ERRORS, shown_entries=SHOWN_ENTRIES,
    )  # fmt: skip


def _report_lines(receipt_id: int):
    with reading() as s:
        receipt = _receipt_or_404(s, receipt_id)
        if receipt.status != ImportStatus.REJECTED:
            abort(404)
        return list(error_lines(s, receipt_id))


@bp.get("/<int:receipt_id>/errors.csv")
@allow(*READERS)
def errors_csv(receipt_id: int):
    """The error report as CSV: UTF-8 with a BOM (so that Excel shows the Chinese), every
    value inert (reports.write_csv)."""
    problems = _report_lines(receipt_id)
    out = io.StringIO()
    write_csv(problems, out)
    data = io.BytesIO(out.getvalue().encode("utf-8-sig"))
    return send_file(
        data, mimetype="text/csv", as_attachment=True,
        download_name=f"receipt-{receipt_id}-errors.csv",
    )  # fmt: skip


@bp.get("/<int:receipt_id>/errors.xlsx")
@allow(*READERS)
def errors_xlsx(receipt_id: int):
    """The error report as an XLSX workbook (text cells only, reports.write_xlsx)."""
    problems = _report_lines(receipt_id)
    with tempfile.TemporaryDirectory(prefix="fundledger-report-") as folder:
        path = Path(folder) / "errors.xlsx"
        write_xlsx(problems, path)
        data = io.BytesIO(path.read_bytes())
    return send_file(
        data, as_attachment=True, download_name=f"receipt-{receipt_id}-errors.xlsx",
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )  # fmt: skip


# ---------------------------------------------------------------- a background import


def _task_or_404(task_id: int):
    with reading() as s:
        try:
            task = get_task(s, task_id)
        except UnknownTaskError:
            abort(404)
    require_bank(task.bank_code)
    return task


def _task_state(task) -> dict:
    finished = task.status in (TaskStatus.DONE, TaskStatus.FAILED)
    return {
        "id": task.id,
        "status": task.status,
        "status_label": status_labels().get(task.status, task.status),
        "rows_read": task.rows_read,
        "rows_checked": task.rows_checked,
        "rows_posted": task.rows_posted,
        "finished": finished,
        "receipt_id": task.receipt_id,
        "receipt_url": url_for(".show", receipt_id=task.receipt_id) if task.receipt_id else None,
        "error": task.error,
    }


@bp.get("/tasks/<int:task_id>")
@allow(*READERS)
def task(task_id: int):
    """A queued upload's progress: refreshed by a few lines of JS polling
    :func:`task_status`, or without JS by the page reloading itself while it runs."""
    found = _task_or_404(task_id)
    return render_template(
        "files/task.html", t=found, state=_task_state(found), kinds=kind_labels(),
        statuses=status_labels(),
    )  # fmt: skip


@bp.get("/tasks/<int:task_id>.json")
@allow(*READERS)
def task_status(task_id: int):
    return jsonify(_task_state(_task_or_404(task_id)))
