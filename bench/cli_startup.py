"""How long a ``fundledger`` command takes from exec to exit, against bare Python.

Runs each command ``--repeat`` times as a fresh process (the console script of this
venv) and prints the medians, with two floors for comparison: ``python -c pass`` and
``python -c "import sqlalchemy.orm"`` (what any command that reads the database pays
before it does anything). The one-row commands run against a small SQLite demo city
built first in a temporary folder.

    .venv/bin/python bench/cli_startup.py --repeat 15
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
COMMANDS = {
    "fundledger --help": ["--help"],
    "fundledger import --help": ["import", "--help"],
    "fundledger entries --limit 1 (one row)": ["entries", "--limit", "1"],
    "fundledger imports list --limit 1 (one row)": ["imports", "list", "--limit", "1"],
}
FLOORS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "python -c 'import sqlalchemy.orm'": [sys.executable, "-c", "import sqlalchemy.orm"],
}


def timed(argv: list[str], env: dict, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        env = dict(os.environ, DATABASE_URL=f"sqlite:///{folder}/demo.db")
        subprocess.run(
            [str(BIN / "fundledger"), "init", "--demo", "--loans", "12"],
            env=env, stdout=subprocess.DEVNULL, check=True,
        )  # fmt: skip
        rows = [(name, timed(argv, env, args.repeat)) for name, argv in FLOORS.items()]
        rows += [
            (name, timed([str(BIN / "fundledger"), *argv], env, args.repeat))
            for name, argv in COMMANDS.items()
        ]
    print(f"medians of {args.repeat} runs (min–max), seconds:")
    for name, times in rows:
        print(f"  {name:46} {statistics.median(times):6.3f}  ({min(times):.3f}–{max(times):.3f})")


if __name__ == "__main__":
    main()
