"""The Chinese catalog is complete and compiled; ``fundledger serve`` serves the app."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_message_is_translated_and_the_catalog_compiled():
    done = subprocess.run(
        [sys.executable, "scripts/messages.py", "--check"], cwd=ROOT, capture_output=True,
        text=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def test_fundledger_serve_answers_on_its_port(books, db_url, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "FUNDLEDGER_INSTANCE_PATH": str(tmp_path)}
    server = subprocess.Popen(
        [sys.executable, "-c", "from ledger.cli import main; main()", "--database-url",
         db_url, "serve", "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login") as r:
                    page = r.read().decode()
                    status = r.status
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise AssertionError("fundledger serve did not answer")
        assert status == 200 and "小额贷款担保基金账簿" in page
        assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600
    finally:
        server.terminate()
        out, _ = server.communicate(timeout=10)
    assert f"fundledger web application on http://127.0.0.1:{port}/" in out
