"""The report value: its fingerprint is the SHA-256 of its canonical content, taken a row
at a time, the same for rows held and rows produced on demand; a streamed section is
read through once per rendering and never held."""

from __future__ import annotations

import datetime as dt
import hashlib
import io

import pytest
from openpyxl import load_workbook

from ledger.reports.document import (
    Anchor,
    Column,
    Report,
    Row,
    Section,
    canonical,
    canonical_chunks,
    content,
)
from ledger.reports.errors import ReportError
from ledger.reports.export import export, formats, get_format, register_format

COLUMNS = (
    Column("name", "名称", "Name", "text"),
    Column("on", "日期", "Date", "date"),
    Column("amount", "金额", "Amount"),
    Column("rate", "比率", "Rate", "ratio"),
    Column("n", "笔数", "Count", "count"),
)
ANCHOR = Anchor(7, "ab" * 32, dt.date(2025, 6, 30))
AT = dt.datetime(2026, 1, 2, 3, 4, 5)


def rows(n):
    start = dt.date(2025, 1, 1)
    return [
        Row((f"第{i}行", start + dt.timedelta(days=i % 300), i * 101 - 5_000, i * 7, i))
        for i in range(n)
    ]


def make(section_rows, **kw):
    section = Section("lines", "明细", "Lines", COLUMNS, section_rows)
    return Report("test", "测试", "Test", (("to", "2025-06-30"),), (section,), ANCHOR, AT, **kw)


def test_the_fingerprint_is_of_the_canonical_content_streamed_or_not():
    held = make(tuple(rows(50)))
    assert b"".join(canonical_chunks(held)) == canonical(content(held))
    assert held.fingerprint == hashlib.sha256(canonical(content(held))).hexdigest()
    assert content(held)["sections"][0]["rows"][1] == ["第1行", "2025-01-02", -4899, 7, 1]
    calls = []

    def produce():
        calls.append(1)
        return iter(rows(50))

    lazy = make(produce)
    assert lazy.section("lines").lazy and not held.section("lines").lazy
    assert lazy.fingerprint == held.fingerprint
    assert len(calls) == 1  # the fingerprint read the rows once
    # Nothing but the figures and the anchor counts: not the time, not the titles.
    other = Report(
        "test", "别的", "Other", held.params, held.sections, ANCHOR, AT.replace(year=2030)
    )
    assert other.fingerprint == held.fingerprint
    moved = Report("test", "测试", "Test", held.params, held.sections, Anchor(8, "cd" * 32), AT)
    assert moved.fingerprint != held.fingerprint


def test_a_cell_is_an_int_a_str_a_date_or_none():
    with pytest.raises(TypeError, match="never a bool"):
        make((Row(("x", None, True, None, None)),))
    with pytest.raises(TypeError, match=r"not 1\.5"):
        make((Row(("x", None, 1.5, None, None)),))


def test_a_streamed_section_is_written_a_row_at_a_time(tmp_path):
    produced = []

    def produce():
        for row in rows(3000):
            produced.append(row)
            yield row

    report = make(produce)
    produced.clear()
    out = io.BytesIO()
    export(report, "xlsx", out)
    assert len(produced) == 3000  # one pass for the workbook (and its embedded content)
    book = load_workbook(io.BytesIO(out.getvalue()), read_only=True)
    sheet = book["明细"]
    values = list(sheet.iter_rows(values_only=True))
    assert values[0] == ("名称 Name", "日期 Date", "金额 Amount", "比率 Rate", "笔数 Count")
    assert values[2] == ("第1行", dt.datetime(2025, 1, 2), -48.99, 7e-06, 1)
    assert values[3000] == ("第2999行", dt.datetime(2025, 10, 27), 2978.99, 0.020993, 2999)
    assert values[-2:] == [
        ("指纹 fingerprint", report.fingerprint),
        ("锚点 anchor", f"7 {'ab' * 32} closed through 2025-06-30"),
    ]
    csv = io.BytesIO()
    produced.clear()
    export(report, "csv", csv)
    assert len(produced) == 3000
    assert csv.getvalue().decode("utf-8-sig").splitlines()[9] == "第1行,2025-01-02,-48.99,0.0007%,1"


def test_formats_come_from_a_registry_another_module_adds_to():
    assert {"text", "csv", "xlsx"} <= set(formats())
    written = []
    register_format("pdf", ".pdf", "application/pdf", lambda r, out: written.append(r.kind))
    try:
        assert "pdf" in formats()
        assert get_format("pdf").suffix == ".pdf"
        export(make(()), "pdf", io.BytesIO())
        assert written == ["test"]
    finally:
        from ledger.reports import export as module

        del module._REGISTERED["pdf"]
    with pytest.raises(ReportError, match="no report format 'doc'"):
        get_format("doc")
