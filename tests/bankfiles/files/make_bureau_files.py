"""Make the checked-in bureau lists of the tests, byte for byte the same each run.

Run from the repository root::

    .venv/bin/python tests/bankfiles/files/make_bureau_files.py

A community's borrowers list as the bureau gets it — CSV saved by a Chinese Excel
(GB18030), and the same list as a workbook — a list with three bad cells, and the
guarantees approved for twelve of them, good and with a bad row. The people are those of
``tests/bankfiles/bureau_lists.py``; they also serve as examples of the two lists.
"""

from __future__ import annotations

import sys
from decimal import Decimal
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
for folder in (ROOT, HERE):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from make_files import write_csv, write_xlsx  # noqa: E402

from tests.bankfiles.bureau_lists import (  # noqa: E402
    PEOPLE,
    borrower_rows,
    guarantee_rows,
)


def borrowers() -> None:
    rows = borrower_rows()
    write_csv("bureau_borrowers_200_gbk.csv", rows, encoding="gb18030")
    write_xlsx("bureau_borrowers_200.xlsx", rows)
    # Ten people of another community, three cells wrong: row 3's ID number has a wrong
    # check digit, row 6's type is not one there is, row 9's district does not exist.
    bad = borrower_rows(PEOPLE[100:110])
    number = bad[2][2]
    bad[2][2] = number[:-1] + ("0" if number[-1] != "0" else "1")
    bad[5][4] = "公司"
    bad[8][3] = "南山区"
    write_csv("bureau_borrowers_3_bad.csv", bad, encoding="utf-8-sig")


def guarantees() -> None:
    rows = guarantee_rows()
    write_csv("bureau_guarantees.csv", rows, encoding="utf-8-sig")
    # The workbook holds plain amounts as numbers, as a spreadsheet does.
    cells = [rows[0]] + [[*row[:3], _number(row[3]), *row[4:]] for row in rows[1:]]
    write_xlsx("bureau_guarantees.xlsx", cells)
    # Row 6 (the fifth) asks for 250,000 yuan: over the 200,000 an individual may have.
    bad = guarantee_rows()
    bad[5][3] = "250000.00"
    write_csv("bureau_guarantees_over_limit.csv", bad, encoding="utf-8-sig")


def _number(text: str):
    try:
        value = Decimal(text)
    except ArithmeticError:
        return text
    return int(value) if value == value.to_integral_value() else float(value)


def main() -> None:
    borrowers()
    guarantees()


if __name__ == "__main__":
    main()
