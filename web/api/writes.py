"""The API's writes, each one operation in one transaction (``web.database.write``):
a bank file's upload (a large one queued for the import worker, as the upload page
does), one repayment, a capital allocation and its approval. A refusal
is a problem with the operation's code and Chinese message, and nothing is posted; a
success answers with what was done, including the journal entries it posted."""

from __future__ import annotations

from flask import abort, request, url_for
from flask_login import current_user

from ledger.bankfiles.kinds import KINDS
from ledger.bankfiles.models import ImportStatus
from ledger.clock import business_today
from ledger.fund import capital
from ledger.fund.models import CapitalAllocation, Loan, Repayment
from ledger.fund.read.allocations import allocations_page
from ledger.fund.read.loans import loan_detail, loans_page
from ledger.fund.repayments import repay, reverse_repayment
from ledger.journal import entry_views
from web.api import bp
from web.api.problems import problem
from web.api.reads import receipt_body, task_body
from web.api.schemas import (
    AllocationIn,
    AllocationOut,
    ReceiptDetailOut,
    RepaidOut,
    RepaymentIn,
    TaskOut,
)
from web.api.spec import ID, doc, load_body
from web.authz import action, own_bank
from web.database import reading, write
from web.settings import DEFAULTS
from web.uploads import display_name, import_or_queue, save_upload
from web.views.common import shown

FILE_FIELDS = {
    "kind": ({"type": "string", "enum": sorted(KINDS)}, "The kind of file."),
    "file": ({"type": "string", "format": "binary"}, "The CSV or XLSX file."),
    "bank": (
        {"type": "string"},
        "The bank whose file it is (the bureau uploading for a bank); a bank's token: its own.",
    ),
}


def _field_problem(field: str, message: str, zh: str, status: int = 422):
    return problem(
        status, "Unprocessable content", f"{field}: {message}", code="invalid-body",
        zh=f"{field}：{zh}", errors=[{"field": field, "message": message, "zh": zh}],
    )  # fmt: skip


@bp.post("/files")
@action("file.upload")
@doc(
    "Upload a bank file", "files", multipart=FILE_FIELDS, response=ReceiptDetailOut,
    status=201, also=(200,), errors=(400, 404, 422),
    others={
        202: (TaskOut, "Accepted: queued for the import worker", "The task: poll it (GET)")
    },
    description="All or nothing (docs/bank-files.md). A file of at most the server's "
    f"threshold of data rows ({DEFAULTS['BACKGROUND_ROWS']:,} unless configured) is imported "
    "at once: the receipt says accepted, rejected (with every bad row) or duplicate (the "
    "same bytes were accepted before; nothing posted again). A larger one is queued for the "
    "import worker: 202 with its task, to poll at its `Location` until it is done and names "
    "the receipt.",
)  # fmt: skip
def upload():
    kind = (request.form.get("kind") or "").strip()
    upload = request.files.get("file")
    mine = own_bank()
    bank = mine or (request.form.get("bank") or "").strip() or None
    if kind not in KINDS:
        return _field_problem(
            "kind", f"give one of: {', '.join(sorted(KINDS))}",
            f"文件类型应为以下之一：{'、'.join(sorted(KINDS))}",
        )  # fmt: skip
    if upload is None or not upload.filename:
        return _field_problem("file", "attach the file (multipart field 'file')", "请附上文件")
    if mine is not None and (request.form.get("bank") or mine).strip() != mine:
        abort(404)  # a bank acts for itself; another bank is not there for it
    name = display_name(upload.filename)
    saved = save_upload(upload)
    task, receipt = import_or_queue(
        kind=kind, bank=bank, saved=saved, name=name, actor=current_user.principal
    )
    if task is not None:
        return (
            TaskOut().dump(task_body(task)),
            202,
            {"Location": url_for("api.file_task", task_id=task.id)},
        )
    with reading() as s:
        body = receipt_body(s, receipt.id)
    status = 201 if receipt.status != ImportStatus.DUPLICATE else 200
    return (
        ReceiptDetailOut().dump(body),
        status,
        {"Location": url_for("api.receipt", receipt_id=receipt.id)},
    )


@bp.post("/repayments")
@action("loan.repay")
@doc(
    "Report one repayment (or reverse one)", "repayments", body=RepaymentIn, response=RepaidOut,
    status=201, also=(200,), errors=(400, 404, 415, 422),
    description="As one row of a repayment file. The same bank_ref with the same content "
    "again is not posted twice (200, created false); with other content it is refused.",
)  # fmt: skip
def repayment():
    data = load_body(RepaymentIn)
    mine = own_bank()
    bank = mine or data.get("bank")
    if mine is not None and data.get("bank") not in (None, mine):
        abort(404)
    if not bank:
        return _field_problem("bank", "name the bank whose repayment it is", "请指定银行")
    if data["reversal_of"] is None:
        for field in ("principal", "interest"):
            if field not in data:
                return _field_problem(field, "Missing data for required field.", "缺少必填字段。")
    principal = current_user.principal

    def work(s):
        if data["reversal_of"] is not None:
            done = reverse_repayment(
                s, bank=bank, bank_ref=data["bank_ref"], reversal_of=data["reversal_of"],
                on=data["paid_on"], actor=principal, contract_no=data["contract_no"],
            )  # fmt: skip
        else:
            done = repay(
                s, bank=bank, bank_ref=data["bank_ref"], contract_no=data["contract_no"],
                paid_on=data["paid_on"], principal=data["principal"],
                interest=data["interest"], penalty=data["penalty"] or 0,
                id_number=data["id_number"], balance_after=data["balance_after"],
                actor=principal,
            )  # fmt: skip
        return done.repayment.id, done.created

    repayment_id, created = write(work)
    with reading() as s:
        row = s.get(Repayment, repayment_id)
        loan = s.get(Loan, row.loan_id)
        detail = loan_detail(s, loan.bank_code, loan.contract_no, business_today())
        view = next(r for r in detail.repayments if r.id == repayment_id)
        found = loans_page(s, bank=loan.bank_code, search=loan.contract_no, limit=5).items
        line = next(r for r in found if r.id == loan.id)
        entries = entry_views(s, [row.entry_id] if row.entry_id else [])
    body = {"repayment": view, "created": created, "loan": shown(line), "entries": entries}
    return RepaidOut().dump(body), 201 if created else 200


@bp.post("/allocations")
@action("allocation.record")
@doc(
    "Record a capital allocation (to be approved)", "capital", body=AllocationIn,
    response=AllocationOut, status=201, errors=(400, 415, 422),
)  # fmt: skip
def allocation_record():
    data = load_body(AllocationIn)
    principal = current_user.principal
    allocation_id = write(
        lambda s: capital.record_allocation(
            s, data["source"], data["amount"], data["received_on"], actor=principal,
            reference=data["reference"], note=data["note"],
        ).id
    )  # fmt: skip
    return (
        AllocationOut().dump(_allocation(allocation_id)),
        201,
        {"Location": url_for("api.allocation_approve", allocation_id=allocation_id)},
    )


@bp.post(f"/allocations/<{ID}:allocation_id>/approve")
@action("allocation.approve")
@doc(
    "Approve a capital allocation (not one's own)", "capital", response=AllocationOut,
    errors=(400, 404, 422),
    description="Posts the capital: treasury debited, the source's capital credited, dated "
    "the day the money was received. The clerk who recorded it may not approve it.",
)  # fmt: skip
def allocation_approve(allocation_id: int):
    with reading() as s:
        if s.get(CapitalAllocation, allocation_id) is None:
            abort(404)
    principal = current_user.principal
    write(lambda s: capital.approve_allocation(s, allocation_id, actor=principal))
    return AllocationOut().dump(_allocation(allocation_id))


def _allocation(allocation_id: int) -> dict:
    with reading() as s:
        row = allocations_page(s, before=allocation_id + 1, limit=1).items[0]
        entries = entry_views(s, [row.entry_id] if row.entry_id else [])
    return {**{f: getattr(row, f) for f in vars(row)}, "entries": entries}
