"""What the upload page and the API's upload share: the name a file is shown by, where
it is kept (``UPLOAD_FOLDER``: the scheduler's import worker reads a queued file from
there, so it must see the same folder), and a cheap count of its data rows, which sends
a large file to the worker; and taking a saved file in (:func:`import_or_queue`)."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

from flask import current_app

from ledger.bankfiles.imports import Receipt, import_file
from ledger.clock import business_today
from ledger.errors import LedgerError
from ledger.ops.models import ImportTask
from ledger.ops.queue import enqueue_import
from web.database import books, write

#: An XLSX workbook is compressed: its data rows are estimated from its size, at this
#: many bytes a row. A repayment workbook takes about 52 bytes a row and a balances one
#: about 30, so the estimate errs towards the background.
XLSX_BYTES_PER_ROW = 25
#: A zip file (an XLSX workbook) begins with these bytes.
_ZIP = b"PK\x03\x04"


def display_name(filename: str | None) -> str:
    """The name the uploader gave, without any folder or control character."""
    name = re.split(r"[\\/]", filename or "")[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip()
    return name[:255] or "upload"


def save_upload(upload) -> Path:
    """Store the upload under UPLOAD_FOLDER with a name of our own: the China date's
    folder, a random name and the file's extension if it is a short plain one."""
    folder = Path(current_app.config["UPLOAD_FOLDER"]) / business_today().strftime("%Y%m%d")
    folder.mkdir(parents=True, exist_ok=True)
    suffix = Path(display_name(upload.filename)).suffix.lower()
    if not re.fullmatch(r"\.[a-z0-9]{1,5}", suffix):
        suffix = ""
    path = folder / f"{uuid.uuid4().hex}{suffix}"
    upload.save(path)
    return path


def data_rows(path: Path) -> int:
    """How many data rows the file holds, cheaply and never fewer than it has: a CSV's
    lines after the header (blank and multi-line rows count as more); an XLSX workbook's
    size over :data:`XLSX_BYTES_PER_ROW` (its stored dimension is not to be trusted)."""
    with open(path, "rb") as f:
        if f.read(len(_ZIP)) == _ZIP:
            return path.stat().st_size // XLSX_BYTES_PER_ROW
        f.seek(0)
        lines, last = 0, b"\n"
        while block := f.read(1 << 20):
            lines += block.count(b"\n")
            last = block[-1:]
    if last != b"\n":
        lines += 1
    return max(lines - 1, 0)


def import_or_queue(
    *, kind: str, bank: str | None, saved: Path, name: str, actor
) -> tuple[ImportTask | None, Receipt | None]:
    """Take in a saved upload: a file of more than ``BACKGROUND_ROWS`` data rows is
    queued for the scheduler's import worker (the task, no receipt yet), a smaller one
    imported now (its receipt). A refusal removes the saved file and is raised."""
    try:
        rows = data_rows(saved)
        if rows > current_app.config["BACKGROUND_ROWS"]:
            task = write(
                lambda s: enqueue_import(
                    s, kind=kind, bank=bank, actor=actor, path=saved, file_name=name,
                    rows_expected=rows,
                )
            )  # fmt: skip
            return task, None
        receipt = import_file(
            books().factory, kind=kind, bank=bank, path=saved, actor=actor, file_name=name
        )
        return None, receipt
    except LedgerError:
        saved.unlink(missing_ok=True)
        raise
