"""Fuzzing the file import: whatever bytes or cells a bank (or the bureau's list) sends,
``import_file`` returns a receipt (never an unhandled exception), and a rejected file has
at least one error line and leaves the books exactly as they were (bank-interface.md: all
or nothing)."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import itertools

import openpyxl
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from sqlalchemy import func, select

from ledger.bankfiles.imports import error_lines, import_file
from ledger.bankfiles.kinds import KINDS
from ledger.bankfiles.models import BankBalanceLine, BankStatementLine
from ledger.fund import loans
from ledger.fund.models import Borrower, Commitment, Repayment
from ledger.models import JournalEntry, Posting
from tests.bankfiles.conftest import (
    ONE_LOAN_BORROWER,
    ONE_LOAN_CONTRACT,
    ONE_LOAN_PRINCIPAL,
)
from tests.fund.conftest import D, borrower_id

TODAY = D(2026, 11, 30)
BORROWER = ONE_LOAN_BORROWER
CONTRACT = ONE_LOAN_CONTRACT
PRINCIPAL = ONE_LOAN_PRINCIPAL

FUZZ = settings(
    max_examples=35,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def books(factory) -> tuple[int, ...]:
    """What a rejected file must leave unchanged."""
    with factory() as s:
        return tuple(
            s.scalar(select(func.count()).select_from(table))
            for table in (
                JournalEntry,
                Posting,
                Repayment,
                BankBalanceLine,
                BankStatementLine,
                Borrower,
                Commitment,
            )
        )


def loan_state(factory):
    with factory() as s:
        loan = loans.get_loan(s, "ICBC", CONTRACT)
        return loan.repaid_principal, loan.last_paid_on, loan.status


class Files:
    """Fresh file names in a test's temporary directory, one per example."""

    def __init__(self, folder):
        self.folder, self.numbers = folder, itertools.count(1)

    def write(self, data: bytes, suffix: str):
        path = self.folder / f"ICBC_upload_{next(self.numbers)}.{suffix}"
        path.write_bytes(data)
        return path


def check(factory, path, kind: str, *, data_rows: int | None = None):
    """Import ``path``; assert the receipt is coherent and a rejection changed nothing."""
    before, loan = books(factory), loan_state(factory)
    # The bureau's lists belong to no bank: a clerk registers, an approver approves.
    bank, actor = {"borrowers": (None, "clerk"), "guarantees": (None, "approver")}.get(
        kind, ("ICBC", "icbc")
    )
    receipt = import_file(factory, bank=bank, kind=kind, path=path, actor=actor, today=TODAY)
    assert receipt.status in ("accepted", "rejected", "duplicate")
    assert (receipt.bank, receipt.kind, receipt.uploaded_by) == (bank, kind, actor)
    assert receipt.size == path.stat().st_size
    if data_rows is not None:
        assert receipt.rows <= data_rows
    if receipt.status == "rejected":
        with factory() as s:
            problems = list(error_lines(s, receipt.id))
        assert problems, "a rejected file must have at least one error line"
        assert receipt.errors == len(problems)
        assert (receipt.posted, receipt.skipped, receipt.entry_ids) == (0, 0, ())
        assert receipt.error_rows == len({p.row for p in problems if p.row is not None})
        columns = {c.en for c in KINDS[kind].columns}
        for problem in problems:
            assert problem.message and problem.zh and problem.code
            if problem.row is None:
                assert problem.column == ""
            else:
                assert problem.row >= 2
                assert problem.column in columns, problem
        assert books(factory) == before
        assert loan_state(factory) == loan
    elif receipt.status == "duplicate":
        assert receipt.duplicate_of is not None
        assert (receipt.posted, receipt.entry_ids) == (0, ())
        assert books(factory) == before
    else:
        assert receipt.errors == 0
        assert receipt.posted + receipt.skipped == receipt.rows
    return receipt


# ------------------------------------------------------------------------ (a) any bytes

HEADERS = {
    name: ",".join(column.zh if n % 2 else column.en for n, column in enumerate(kind.columns))
    for name, kind in KINDS.items()
}

some_bytes = st.binary(max_size=3000)
file_bytes = st.one_of(
    some_bytes,
    st.tuples(st.sampled_from(sorted(HEADERS)), some_bytes).map(
        lambda pair: (HEADERS[pair[0]] + "\r\n").encode() + pair[1]
    ),
    some_bytes.map(lambda b: b"PK\x03\x04" + b),
    some_bytes.map(lambda b: codecs.BOM_UTF8 + b),
    some_bytes.map(lambda b: codecs.BOM_UTF16_LE + b),
    st.text(max_size=500).map(lambda t: t.encode("utf-8")),
    st.text(max_size=500).map(lambda t: t.encode("gb18030")),
)


@FUZZ
@given(data=file_bytes, kind=st.sampled_from(sorted(KINDS)))
def test_arbitrary_bytes_give_a_receipt_never_an_exception(fund, tmp_path_factory, data, kind):
    files = Files(tmp_path_factory.mktemp("bytes"))
    suffix = "xlsx" if data.startswith(b"PK") else "csv"
    check(fund, files.write(data, suffix), kind)


def test_an_empty_file_is_rejected_with_one_error_line(fund, tmp_path):
    receipt = check(fund, Files(tmp_path).write(b"", "csv"), "repayment")
    assert receipt.status == "rejected"
    assert (receipt.message, receipt.message_zh) == ("the file is empty", "文件为空")


# ------------------------------------------------------------------------ (b) any cells

REPAYMENT = KINDS["repayment"]
FULL_WIDTH = "０１２３４５６７８９．，－／％￥年月日\u3000ｘＸ"

wild_text = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=FULL_WIDTH + "0123456789.,-/ ", max_size=25),
    st.text(alphabet="\x00\x01\x07\t\n\r\x1b\x7f\u200b\ufeff\u200eAB1", max_size=10),
    st.sampled_from(["", " ", "=A1*2", "=SUM(", "-1", "(5)", "1e3", "NaN", "inf", "9" * 40]),
)
amounts = st.one_of(
    st.integers(min_value=0, max_value=10**7).map(lambda n: f"{n // 100}.{n % 100:02d}"),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(),
    st.sampled_from(["0", "1,234.50", "¥1,234.50", "１２３４．５０", "100000.00", "0.001"]),
)
dates = st.one_of(
    st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 12, 31)).flatmap(
        lambda d: st.sampled_from(
            [
                d,
                d.isoformat(),
                f"{d.year}/{d.month}/{d.day}",
                f"{d:%Y%m%d}",
                f"{d.year}年{d.month}月{d.day}日",
            ]
        )
    ),
    st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2100, 1, 1)),
    st.sampled_from(["2025-06-05", "2024-02-30", "2026-12-01", "２０２５－０６－０５"]),
)
plausible = {
    "bank_ref": st.one_of(st.integers(0, 10**6).map(lambda n: f"R{n}"), st.just("R1")),
    "contract_no": st.sampled_from([CONTRACT, "ICBC-999", "ABC-001", "ｉｃｂｃ－００１"]),
    "id_number": st.sampled_from([BORROWER, "", borrower_id(2), "11010519900517011"]),
    "paid_on": dates,
    "principal": amounts,
    "interest": amounts,
    "penalty": amounts,
    "balance_after": st.one_of(amounts, st.just("100000.00"), st.just("99900.00")),
    "reversal_of": st.sampled_from(["", "", "R1", "R404"]),
}
cell = {field: st.one_of(strategy, wild_text) for field, strategy in plausible.items()}
row = st.fixed_dictionaries({c.field: cell[c.field] for c in REPAYMENT.columns})
sheets = st.lists(row, min_size=0, max_size=5)


def csv_text(rows: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([c.zh for c in REPAYMENT.columns])
    for r in rows:
        writer.writerow([_text(r[c.field]) for c in REPAYMENT.columns])
    return out.getvalue()


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, float):
        return repr(value)
    return str(value)


def workbook(rows: list[dict]) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append([c.en for c in REPAYMENT.columns])
    for r in rows:
        ws.append([_xlsx_value(r[c.field]) for c in REPAYMENT.columns])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _xlsx_value(value):
    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub("", value)
    if isinstance(value, int) and abs(value) > 10**15:
        return str(value)  # beyond what a spreadsheet number holds
    return value


#: Found by this fuzz: a date cell holding a line break (a quoted CSV field, a cell with
#: Alt+Enter in Excel) must be a cell error, not a crash.
LINE_BREAK_DATE = [
    {
        "bank_ref": "R0", "contract_no": CONTRACT, "id_number": BORROWER, "paid_on": "0\n0",
        "principal": "0.00", "interest": "0.00", "penalty": "0.00", "balance_after": "0.00",
        "reversal_of": "",
    }
]  # fmt: skip


@FUZZ
@example(rows=LINE_BREAK_DATE, encoding="utf-8")
@given(rows=sheets, encoding=st.sampled_from(["utf-8", "utf-8-sig", "gb18030", "gbk"]))
def test_arbitrary_cells_in_a_csv_give_a_receipt_never_an_exception(
    fund, tmp_path_factory, rows, encoding
):
    files = Files(tmp_path_factory.mktemp("csv"))
    try:
        data = csv_text(rows).encode(encoding)
    except UnicodeEncodeError:
        data = csv_text(rows).encode("gb18030")
    check(fund, files.write(data, "csv"), "repayment", data_rows=len(rows))


@FUZZ
@example(rows=LINE_BREAK_DATE)
@given(rows=sheets)
def test_arbitrary_cells_in_a_workbook_give_a_receipt_never_an_exception(
    fund, tmp_path_factory, rows
):
    files = Files(tmp_path_factory.mktemp("xlsx"))
    check(fund, files.write(workbook(rows), "xlsx"), "repayment", data_rows=len(rows))


# ------------------------------------------------------------------------ fixed points


def test_a_valid_repayment_is_posted_and_a_bad_row_beside_it_posts_nothing(fund, tmp_path):
    files = Files(tmp_path)
    good = {
        "bank_ref": "R1", "contract_no": CONTRACT, "id_number": BORROWER,
        "paid_on": "2025-06-05", "principal": "100.00", "interest": "0", "penalty": "",
        "balance_after": "99900.00", "reversal_of": "",
    }  # fmt: skip
    bad = good | {"bank_ref": "R2", "principal": "1e3"}
    before = books(fund)
    receipt = check(fund, files.write(csv_text([good, bad]).encode("gbk"), "csv"), "repayment")
    assert (receipt.status, receipt.rows, receipt.error_rows) == ("rejected", 2, 1)
    with fund() as s:
        (problem,) = error_lines(s, receipt.id)
    assert (problem.row, problem.column, problem.value) == (3, "principal", "1e3")
    assert problem.message == (
        "amount 1e3 is in scientific notation; write it out in full, e.g. 1234.50"
    )
    assert books(fund) == before

    receipt = check(fund, files.write(workbook([good]), "xlsx"), "repayment")
    assert (receipt.status, receipt.rows, receipt.posted, receipt.errors) == ("accepted", 1, 1, 0)
    assert receipt.totals == {
        "principal": 10_000,
        "interest": 0,
        "penalty": 0,
        "balance_after": 9_990_000,
    }
    assert receipt.entry_ids
    assert books(fund) != before
    assert loan_state(fund)[:2] == (10_000, D(2025, 6, 5))
