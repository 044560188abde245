"""Benchmark: the web application under load — 8 concurrent clients on loopback against
``fundledger serve`` (gunicorn: a worker process a core, 4 threads each) over the demo city
scaled to 100,000 loans.

    python bench/web.py --postgresql postgresql://postgres@127.0.0.1:5432/fl_bench_recon
    python bench/web.py --sqlite instance/city100k.db --requests 2000

The database must hold the city (``fundledger init --demo --loans 100000``) with the
demo users' passwords set. The script serves it in a child process, signs each client in
(as the clerk ``wang.fang``), warms every page once, then has the clients take the pages
in turn — the dashboard, the loan list (first page, a deep page, a filtered search), a
loan's page — ``--requests`` requests in all; then each client uploads ``--uploads``
repayment files of 1,000 rows (each new: 1,000 loans of a bank repay 1.00 yuan each,
imported in the request, as a file under the background threshold is). It prints p50 and
p95 per page and for the upload, in milliseconds, with the machine's load. Each client
keeps its connection open (HTTP/1.1 keep-alive), as a browser does. Target (issue): p95
≤ 150 ms for every page at 8 clients.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PASSWORD = "Demo#2026fund"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Client:
    """One browser: a keep-alive connection and the session cookie."""

    def __init__(self, port: int):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.cookie = ""

    def request(self, method: str, path: str, body: str | None = None) -> tuple[int, bytes]:
        headers = {"Cookie": self.cookie} if self.cookie else {}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
        except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
            # The server closed the idle connection: open another, as a browser does.
            self.conn.close()
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
        data = response.read()
        for value in response.headers.get_all("Set-Cookie") or []:
            self.cookie = value.split(";", 1)[0]
        return response.status, data

    def token(self, path: str) -> str:
        _status, page = self.request("GET", path)
        return (
            re.search(rb'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1).decode()
        )

    def upload(self, bank: str, name: str, content: bytes) -> int:
        boundary = "----fundledgerbench"
        fields = {"csrf_token": self.token("/files"), "kind": "repayment", "bank": bank}
        parts = [
            f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
            for k, v in fields.items()
        ]
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            "Content-Type: text/csv\r\n\r\n".encode()
            + content
            + b"\r\n"
        )
        body = b"".join(parts) + f"--{boundary}--\r\n".encode()
        headers = {"Cookie": self.cookie,
                   "Content-Type": f"multipart/form-data; boundary={boundary}"}  # fmt: skip
        self.conn.request("POST", "/files", body=body, headers=headers)
        response = self.conn.getresponse()
        response.read()
        for value in response.headers.get_all("Set-Cookie") or []:
            self.cookie = value.split(";", 1)[0]
        return response.status

    def sign_in(self, username: str) -> None:
        _status, page = self.request("GET", "/login")
        token = re.search(rb'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        body = urlencode({"username": username, "password": PASSWORD, "csrf_token": token.decode()})
        status, _ = self.request("POST", "/login", body)
        assert status == 302, f"sign-in of {username} failed: {status}"


def pages(url: str) -> dict[str, str]:
    """The pages measured, with URLs read from the books."""
    from sqlalchemy import func, select

    from ledger.db import make_engine, session_factory
    from ledger.fund.models import Loan

    engine = make_engine(url)
    with session_factory(engine)() as s:
        count = s.scalar(select(func.count()).select_from(Loan))
        deep = s.scalar(select(Loan.id).order_by(Loan.id.desc()).offset(count // 2).limit(1))
        bank, contract = s.execute(
            select(Loan.bank_code, Loan.contract_no).order_by(Loan.id).offset(count // 3).limit(1)
        ).one()
    engine.dispose()
    return {
        "dashboard": "/",
        "loans, first page": "/loans",
        "loans, deep page": f"/loans?before={deep}",
        "loans, filtered search": "/loans?bank=ICBC&status=active&district=D02&from=2025-01-01",
        "a loan's page": f"/loans/{bank}/{contract}",
    }


def repayment_files(url: str, count: int, rows: int = 1_000) -> list[tuple[str, bytes]]:
    """``count`` repayment files, each of one bank and ``rows`` loans of it (no loan in two
    files), each loan repaying 1.00 yuan with the balance after it."""
    from collections import defaultdict

    from sqlalchemy import select

    from ledger.clock import business_today
    from ledger.db import make_engine, session_factory
    from ledger.fund.models import Loan

    engine = make_engine(url)
    by_bank: dict[str, list[tuple[str, int]]] = defaultdict(list)
    with session_factory(engine)() as s:
        for bank, contract, left in s.execute(
            select(Loan.bank_code, Loan.contract_no, Loan.principal - Loan.repaid_principal)
            .where(Loan.status == "active", Loan.principal - Loan.repaid_principal > 100)
            .order_by(Loan.id)
        ):
            by_bank[bank].append((contract, int(left)))
    engine.dispose()
    today = business_today().isoformat()
    stamp = int(time.time())
    files = []
    for bank, loans in sorted(by_bank.items()):
        for start in range(0, len(loans) - rows + 1, rows):
            if len(files) == count:
                break
            lines = ["bank_ref,contract_no,paid_on,principal,interest,balance_after"]
            lines += [
                f"B{stamp}-{len(files)}-{i},{c},{today},1.00,0,{(left - 100) / 100:.2f}"
                for i, (c, left) in enumerate(loans[start : start + rows])
            ]
            files.append((bank, ("\n".join(lines) + "\n").encode()))
    assert len(files) == count, f"only {len(files)} files of {rows} active loans"
    return files


def measure(
    url: str, clients: int, total: int, uploads: int = 0, workers: int | None = None
) -> dict[str, list[float]]:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "FUNDLEDGER_SESSION_COOKIE_SECURE": "false",
           "PYTHONPATH": str(ROOT)}  # fmt: skip
    server = subprocess.Popen(
        [sys.executable, "-c", "from ledger.cli import main; main()", "serve", "--port",
         str(port), *(["--workers", str(workers)] if workers else [])],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        targets = pages(url)
        browsers = [Client(port) for _ in range(clients)]
        for b in browsers:
            b.sign_in("wang.fang")
        for b in browsers:  # warm each page once on each connection (its worker's caches)
            for path in targets.values():
                status, _ = b.request("GET", path)
                assert status == 200, (path, status)
        timings: dict[str, list[float]] = {name: [] for name in targets}
        order = list(targets.items())
        lock = threading.Lock()
        per_client = total // clients

        def work(n: int) -> None:
            b = browsers[n]
            for i in range(per_client):
                name, path = order[(n + i) % len(order)]
                started = time.perf_counter()
                status, _ = b.request("GET", path)
                elapsed = (time.perf_counter() - started) * 1000
                assert status == 200, (path, status)
                with lock:
                    timings[name].append(elapsed)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if uploads:
            files = repayment_files(url, clients * uploads)
            timings["upload, 1,000 repayments"] = []

            def send(n: int) -> None:
                b = browsers[n]
                for i in range(uploads):
                    started = time.perf_counter()
                    bank, content = files[n * uploads + i]
                    status = b.upload(bank, f"{bank}_repayment_{n}_{i}.csv", content)
                    elapsed = (time.perf_counter() - started) * 1000
                    assert status == 302, status
                    with lock:
                        timings["upload, 1,000 repayments"].append(elapsed)

            threads = [threading.Thread(target=send, args=(n,)) for n in range(clients)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            accepted = uploads_accepted(url, len(files))
            assert accepted == len(files), f"{accepted} of {len(files)} uploads accepted"
        return timings

    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def uploads_accepted(url: str, count: int) -> int:
    """How many of the last ``count`` receipts were accepted with all their rows posted."""
    from sqlalchemy import select

    from ledger.bankfiles.models import BankFileImport
    from ledger.db import make_engine, session_factory

    engine = make_engine(url)
    with session_factory(engine)() as s:
        last = s.execute(
            select(BankFileImport.status, BankFileImport.posted)
            .order_by(BankFileImport.id.desc())
            .limit(count)
        ).all()
    engine.dispose()
    return sum(1 for status, posted in last if status == "accepted" and posted == 1_000)


def report(engine: str, timings: dict[str, list[float]], clients: int) -> None:
    load = os.getloadavg()[0]
    print(f"{engine}: {clients} clients, {sum(map(len, timings.values()))} requests, "
          f"load {load:.2f}")  # fmt: skip
    for name, values in timings.items():
        values.sort()
        p95 = values[max(0, round(len(values) * 0.95) - 1)]
        print(f"  {name:<24} n={len(values):5d}  p50 {statistics.median(values):7.1f} ms  "
              f"p95 {p95:7.1f} ms")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgresql", help="URL of a database holding the 100k city")
    parser.add_argument("--sqlite", help="path of an SQLite file holding the 100k city")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--uploads", type=int, default=3, help="uploads per client")
    parser.add_argument("--workers", type=int, help="server processes (default: serve's own)")
    args = parser.parse_args()
    from ledger.db import normalize_url

    for engine, url in (
        ("postgresql", args.postgresql and normalize_url(args.postgresql)),
        ("sqlite", args.sqlite and f"sqlite:///{args.sqlite}"),
    ):
        if url:
            timings = measure(url, args.clients, args.requests, args.uploads, args.workers)
            report(engine, timings, args.clients)


if __name__ == "__main__":
    main()
