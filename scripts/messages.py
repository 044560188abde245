"""Keep the web application's Chinese catalog in step with its messages: extract every
message of ``web`` (Python and templates), merge them into
``web/translations/zh/LC_MESSAGES/messages.po`` (keeping what is translated), report the
ones still untranslated, and compile ``messages.mo``.

    python scripts/messages.py          # extract, merge, compile
    python scripts/messages.py --check  # fail if a message is untranslated or the .mo is stale
"""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
import tempfile
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "web/translations/zh/LC_MESSAGES/messages.po"
MO = PO.with_suffix(".mo")


def extract() -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        pot = Path(tmp) / "messages.pot"
        subprocess.run(
            [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "web/babel.cfg",
             "-k", "_l", "--no-location", "--sort-output", "--project", "fundledger",
             "-o", str(pot), "."],
            cwd=ROOT, check=True, capture_output=True,
        )  # fmt: skip
        return pot.read_bytes()


def compiled(catalog) -> bytes:
    buf = io.BytesIO()
    write_mo(buf, catalog)
    return buf.getvalue()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    template = read_po(io.BytesIO(extract()))
    with PO.open("rb") as f:
        catalog = read_po(f, locale="zh")
    catalog.update(template, no_fuzzy_matching=True)
    catalog.fuzzy = False
    untranslated = [m.id for m in catalog if m.id and not m.string]
    obsolete = list(catalog.obsolete)
    if args.check:
        with PO.open("rb") as f:
            stored = read_po(f, locale="zh")
        stale = compiled(stored) != MO.read_bytes() if MO.exists() else True
        new = [m.id for m in catalog if m.id and m.id not in stored]
        for problem, items in (("untranslated", untranslated), ("not in the catalog", new),
                               ("no longer used", obsolete)):  # fmt: skip
            for item in items:
                print(f"{problem}: {item!r}")
        if stale:
            print("messages.mo is not the compiled messages.po: run scripts/messages.py")
        return 1 if untranslated or new or obsolete or stale else 0
    catalog.obsolete.clear()
    with PO.open("wb") as f:
        write_po(f, catalog, width=100, sort_output=True)
    MO.write_bytes(compiled(catalog))
    for item in untranslated:
        print(f"untranslated: {item!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
