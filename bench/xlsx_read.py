"""Reading an XLSX bank file: fundledger's worksheet reader against openpyxl's read-only mode.

Builds a repayment workbook of ``--rows`` rows with openpyxl (text as inline strings,
date-styled dates, numbers) and reads every row ``--repeat`` times each way, alternating:

* ``fundledger``: ``ledger.bankfiles.reading.rows`` (sniffing excluded), the reader the
  import uses, which is bounded by the cells that hold values;
* ``openpyxl``: ``load_workbook(read_only=True, data_only=True)`` and ``iter_rows(
  values_only=True)``, the reader the import used before, which trusts the stored sheet
  dimension (and needed a second pass when a sheet held formulas).

Prints the medians and the ratio. No database is involved.

    .venv/bin/python bench/xlsx_read.py --rows 100000 --repeat 5
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time
from pathlib import Path

import openpyxl

from ledger.bankfiles import reading


def build(path: Path, rows: int) -> None:
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("还款明细")
    sheet.append(["银行流水号", "贷款合同号", "身份证号", "还款日期", "归还本金", "归还利息",
                  "罚息", "本金余额", "冲正原流水号"])  # fmt: skip
    day = dt.date(2026, 11, 1)
    for n in range(rows):
        sheet.append([f"R{n:08d}", f"GH2025-{n % 5000:05d}", None, day, 1000 + n % 97,
                      12.34, None, 50_000 - n % 1000, None])  # fmt: skip
    book.save(path)


def ours(path: Path) -> int:
    sniffed = reading.sniff(path)
    return sum(1 for _ in reading.rows(path, sniffed))


def theirs(path: Path) -> int:
    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        return sum(1 for _ in book.worksheets[0].iter_rows(values_only=True))
    finally:
        book.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "repayment.xlsx"
        build(path, args.rows)
        size = path.stat().st_size
        times: dict[str, list[float]] = {"fundledger": [], "openpyxl": []}
        for _ in range(args.repeat):
            for name, read in (("fundledger", ours), ("openpyxl", theirs)):
                started = time.perf_counter()
                count = read(path)
                times[name].append(time.perf_counter() - started)
                assert count == args.rows + 1, (name, count)
    print(f"{args.rows:,} rows, {size:,} bytes, medians of {args.repeat}:")
    medians = {name: statistics.median(values) for name, values in times.items()}
    for name, median in medians.items():
        low, high = min(times[name]), max(times[name])
        per_row = median / args.rows * 1e6
        print(f"  {name:10} {median:7.3f} s ({low:.3f}–{high:.3f})  {per_row:5.1f} µs/row")
    print(f"  ratio fundledger / openpyxl: {medians['fundledger'] / medians['openpyxl']:.2f}")


if __name__ == "__main__":
    main()
