"""The child process of ``bench/import.py``'s memory measure: one import, then exit."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    from ledger.bankfiles.imports import gc_paused, import_file
    from ledger.chain import drain_sealer
    from ledger.db import make_engine, session_factory

    engine = make_engine(os.environ["BENCH_URL"])
    start = time.perf_counter()
    with gc_paused():  # as `fundledger import` runs it, in a process of its own
        receipt = import_file(
            session_factory(engine), bank="ICBC", kind="repayment",
            path=os.environ["BENCH_FILE"], actor="icbc.liu",
            today=__import__("datetime").date(2026, 11, 30),
        )  # fmt: skip
    drain_sealer(engine)
    print(
        f"child: {receipt.status}, {receipt.rows:,} rows, {receipt.posted:,} posted "
        f"in {time.perf_counter() - start:.1f} s"
    )
    if receipt.status != "accepted":
        raise SystemExit(f"import was {receipt.status}: {receipt.message}")
    # This process's own high-water mark since it started (exec). The rusage a parent
    # gets from wait4 keeps the parent's size at the moment of the fork: a parent that
    # had just built the demo city made a 240 MB import look like 1,104 MB.
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                print(f"peak_kb={line.split()[1]}")
