"""A report as plain text tables, for the command line: each section's headings in
Chinese, money in yuan with thousands separators, ratios as percentages, then the
fingerprint and the anchor."""

from __future__ import annotations

import unicodedata
from typing import BinaryIO

from ledger.money import format_yuan
from ledger.reports.document import Report
from ledger.reports.export.values import anchor_text, params_line, to_text


def render(report: Report) -> str:
    lines = [f"{report.zh} {report.en}", f"{report.kind}: {params_line(report)}（单位：元）"]
    for section in report.sections:
        lines += ["", f"{section.zh} {section.en}"]
        table = [[c.zh for c in section.columns]]
        for row in section.iter_rows():
            table.append(
                [
                    format_yuan(v) if c.kind == "money" and v is not None else to_text(v, c)
                    for v, c in zip(row.cells, section.columns, strict=True)
                ]
            )
        right = [c.kind in ("money", "ratio", "count") for c in section.columns]
        widths = [max(_width(r[i]) for r in table) for i in range(len(section.columns))]
        for r in table:
            cells = [
                _pad(v, w, right=right[i]) for i, (v, w) in enumerate(zip(r, widths, strict=True))
            ]
            lines.append("  ".join(cells).rstrip())
    lines += ["", f"指纹 fingerprint: {report.fingerprint}", f"锚点 anchor: {anchor_text(report)}"]
    return "\n".join(lines) + "\n"


def write_text(report: Report, out: BinaryIO) -> None:
    out.write(render(report).encode())


def _width(text: str) -> int:
    """Columns a terminal gives ``text``: two for a wide (Chinese) character."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int, *, right: bool) -> str:
    fill = " " * (width - _width(text))
    return fill + text if right else text + fill
