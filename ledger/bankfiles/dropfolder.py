"""The drop folder: banks leave files in ``inbox/``; a scheduled job imports them.

Layout under the folder's root::

    inbox/       files the banks drop, named {BANKCODE}_{kind}_{YYYYMMDD}_{seq}.csv|xlsx
    processed/   accepted files (and duplicates of accepted ones), each with its
                 receipt beside it: NAME.receipt.json
    rejected/    rejected files with their receipt and error report beside them:
                 NAME.receipt.json and NAME.errors.csv

The bank comes from the file name, never from the file. Files are taken oldest date
first, then in the order disbursement, repayment, balances, statement, then by
sequence number, so a bank's loans are in the books before their repayments. A file
still being written (changed within the last ``settle_seconds``), a hidden file and a
``.part``/``.tmp`` file are left for the next run. A name that breaks the pattern or
names an unknown bank is moved to ``rejected/`` with a report saying so. One file never
holds up the others: a file whose import fails for a reason of the system's (the database,
the disk) is logged, stays in ``inbox/`` for the next run, and the next file is taken.

Only a bank's kinds of file come this way. The bureau's lists (borrowers, guarantees)
belong to no bank and are imported by a person who may register or approve, never by
the scheduler: a name with their kind is rejected like any name that breaks the pattern.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from ledger.bankfiles import imports, reports
from ledger.bankfiles.kinds import BANK_KINDS
from ledger.errors import LedgerError
from ledger.fund.reference import SYSTEM

log = logging.getLogger(__name__)

NAME = re.compile(
    r"(?P<bank>[A-Za-z0-9]{2,20})_(?P<kind>[a-z]+)_(?P<date>\d{8})_(?P<seq>\d{1,6})"
    r"\.(?P<ext>csv|xlsx)",
    re.IGNORECASE,
)
_KIND_ORDER = {name: n for n, name in enumerate(BANK_KINDS)}


@dataclass(frozen=True)
class Outcome:
    name: str
    #: accepted, duplicate or rejected; ``failed`` when the import could not run (the
    #: file is left in the inbox and tried again on the next run).
    status: str
    receipt_id: int | None
    moved_to: Path


def process(
    factory: sessionmaker[Session],
    root: Path | str,
    *,
    actor: str = SYSTEM,
    settle_seconds: float = 10.0,
    today: dt.date | None = None,
) -> list[Outcome]:
    """Import every settled file in ``root/inbox`` and move it; returns what happened."""
    root = Path(root)
    inbox, processed, rejected = (root / d for d in ("inbox", "processed", "rejected"))
    for folder in (inbox, processed, rejected):
        folder.mkdir(parents=True, exist_ok=True)
    now = time.time()
    waiting = []
    for path in inbox.iterdir():
        if not path.is_file() or path.name.startswith(".") or path.suffix in (".part", ".tmp"):
            continue
        if now - path.stat().st_mtime < settle_seconds:
            continue
        waiting.append(path)
    outcomes = []
    for path in sorted(waiting, key=_order):
        try:
            outcomes.append(_one(factory, path, processed, rejected, actor, today))
        except Exception:
            # Not the file's fault (a damaged file gets a rejected receipt): the database
            # or the disk failed, or a defect. The file stays in the inbox for the next
            # run, and the files after it are still taken.
            log.exception("drop folder: %s failed and stays in the inbox", path.name)
            outcomes.append(Outcome(path.name, "failed", None, path))
    return outcomes


def _order(path: Path) -> tuple:
    match = NAME.fullmatch(path.name)
    if match is None:
        return ("", 0, 0, path.name)
    kind = _KIND_ORDER.get(match["kind"].lower(), 99)
    return (match["date"], kind, int(match["seq"]), path.name)


def _one(factory, path: Path, processed: Path, rejected: Path, actor, today) -> Outcome:
    match = NAME.fullmatch(path.name)
    problem = _name_problem(path.name, match)
    if problem is None:
        try:
            receipt = imports.import_file(
                factory, bank=match["bank"].upper(), kind=match["kind"].lower(), path=path,
                actor=actor, today=today,
            )  # fmt: skip
        except LedgerError as error:
            problem = imports.Problem(
                None, "", path.name, error.code, str(error), getattr(error, "zh", None) or ""
            )
    if problem is not None:
        target = _move(path, rejected)
        reports.write_report([problem], target.with_name(target.name + ".errors.csv"))
        log.warning("drop folder: %s rejected: %s", path.name, problem.message)
        return Outcome(path.name, "rejected", None, target)
    folder = rejected if receipt.status == "rejected" else processed
    target = _move(path, folder)
    _write_json(target.with_name(target.name + ".receipt.json"), receipt.as_dict())
    if receipt.status == "rejected":
        reports.write_receipt_report(
            factory, receipt.id, target.with_name(target.name + ".errors.csv")
        )
    log.info("drop folder: %s %s (receipt %d)", path.name, receipt.status, receipt.id)
    return Outcome(path.name, receipt.status, receipt.id, target)


def _name_problem(name: str, match) -> imports.Problem | None:
    pattern = "{BANKCODE}_{kind}_{YYYYMMDD}_{seq}.csv|xlsx"
    if match is None or match["kind"].lower() not in BANK_KINDS:
        kinds = ", ".join(BANK_KINDS)
        return imports.Problem(
            None, "", name, "file-name",
            f"file name {name} does not follow {pattern} (kind one of {kinds})",
            f"文件名 {name} 不符合 {pattern} 的格式（kind 为 {kinds} 之一）",
        )  # fmt: skip
    try:
        dt.datetime.strptime(match["date"], "%Y%m%d")
    except ValueError:
        return imports.Problem(
            None, "", name, "file-name",
            f"file name {name} has no valid date: {match['date']}",
            f"文件名 {name} 中的日期 {match['date']} 无效",
        )  # fmt: skip
    return None


def _move(path: Path, folder: Path) -> Path:
    target = folder / path.name
    n = 1
    while target.exists():
        target = folder / f"{path.stem}.{n}{path.suffix}"
        n += 1
    return path.rename(target)


def _write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
