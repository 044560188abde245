"""A report as CSV: UTF-8 with a BOM (Excel then reads the Chinese right), one file.

The lines, in order::

    <title zh>,<title en>
    报表类型 kind,<kind>
    参数 param,<key>,<value>            (one line a parameter)
    单位 unit,元,yuan
    生成时间 produced (UTC),<ISO time>
                                        (a blank line)
    区段 section,<key>,<zh>,<en>         (for each section:)
    <column headings, "中文 English">
    <rows: money in yuan "1234.50", ratios "4.35%", dates ISO>
                                        (a blank line)
    指纹 fingerprint,<SHA-256>
    锚点 anchor,<seq>,<hash>,<closed through (ISO) or "open">

Text cells that begin like a formula get a leading apostrophe, so that a spreadsheet
shows them and never runs them (``values.inert``); ``verify-report`` takes it off.
"""

from __future__ import annotations

import codecs
import csv
import io
from typing import BinaryIO

from ledger.reports.document import Report
from ledger.reports.export.values import UNIT, heading, inert, to_text

KIND, PARAM, UNIT_LABEL, PRODUCED = (
    "报表类型 kind",
    "参数 param",
    "单位 unit",
    "生成时间 produced (UTC)",
)
SECTION, FINGERPRINT, ANCHOR = "区段 section", "指纹 fingerprint", "锚点 anchor"
OPEN = "open"


def write_csv(report: Report, out: BinaryIO) -> None:
    out.write(codecs.BOM_UTF8)
    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
    try:
        writer = csv.writer(text)
        writer.writerow([report.zh, report.en])
        writer.writerow([KIND, report.kind])
        for key, value in report.params:
            writer.writerow([PARAM, key, inert(value)])
        writer.writerow([UNIT_LABEL, *UNIT])
        writer.writerow([PRODUCED, report.produced_at.isoformat(timespec="seconds")])
        for section in report.sections:
            writer.writerow([])
            writer.writerow([SECTION, section.key, section.zh, section.en])
            writer.writerow([heading(c) for c in section.columns])
            for row in section.iter_rows():
                writer.writerow(
                    [
                        inert(to_text(v, c)) if c.kind == "text" else to_text(v, c)
                        for v, c in zip(row.cells, section.columns, strict=True)
                    ]
                )
        writer.writerow([])
        writer.writerow([FINGERPRINT, report.fingerprint])
        a = report.anchor
        closed = a.closed_through.isoformat() if a.closed_through else OPEN
        writer.writerow([ANCHOR, a.seq, a.hash, closed])
    finally:
        text.detach()
