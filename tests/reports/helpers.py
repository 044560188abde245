"""What the reports' tests share: a report's section as plain rows, and the sum of the
list a drill names."""

from __future__ import annotations

from ledger.reports import registry
from ledger.reports.document import Report
from ledger.reports.general_ledger import from_params


def cells(report: Report, key: str) -> list[tuple]:
    return [row.cells for row in report.section(key).iter_rows()]


def drilled(session, drill) -> int:
    """What the ``postings`` list a drill names adds up to: its debits or credits when it
    is one side's, else its movement (closing balance less opening)."""
    assert drill.list == "postings", drill
    params = registry.params_of(drill.params)
    rows = from_params(session, params).section("postings").rows
    side = params.get("side")
    if side == "D":
        return rows[-1].cells[6]
    if side == "C":
        return rows[-1].cells[7]
    return rows[-1].cells[8] - rows[0].cells[8]


def check_drills(session, report: Report) -> int:
    """Every money figure with a ``postings`` drill equals what its list adds up to;
    returns how many were checked."""
    checked = 0
    for section in report.sections:
        for row in section.iter_rows():
            for n, column in enumerate(section.columns):
                d = row.drill(n)
                if d is None or d.list != "postings" or column.kind != "money":
                    continue
                assert drilled(session, d) == (row.cells[n] or 0), (section.key, row.cells, n)
                checked += 1
    return checked
