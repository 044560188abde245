"""The dashboard: the fund (or one of the funds) on one page, for everyone who reads.

A bank user sees their own bank's lines only; capital by source and the city's totals
are the bureau's."""

from __future__ import annotations

from dataclasses import replace

from flask import Blueprint, current_app, render_template, request

from ledger.bankfiles.receipts import upload_counts
from ledger.clock import business_today
from ledger.fund.funds import check_fund, funds
from ledger.fund.leverage import compensation_rate_ppm, repayment_rate_ppm
from ledger.fund.read.dashboard import awaiting, dashboard
from ledger.ops.runs import runs_page
from web.authz import READERS, allow, own_bank
from web.cache import books_version
from web.database import reading, write

bp = Blueprint("dashboard", __name__)

BUCKETS = ("1-30", "31-90", "91-180", ">180")


def figures(s, today, fund, bank):
    """The dashboard's costly figures: the fund's (or each fund's) board and the rates."""
    every_fund = funds(s)
    year = today.year - 1
    return {
        "board": dashboard(s, today, fund),
        "funds": every_fund,
        "per_fund": [dashboard(s, today, f.code) for f in every_fund] if fund is None else [],
        "rates": {
            "compensation": compensation_rate_ppm(s, bank, today, fund),
            "repayment": repayment_rate_ppm(
                s, bank, today.replace(year=year, month=1, day=1),
                today.replace(year=year, month=12, day=31), fund,
            ),
        },
    }  # fmt: skip


@bp.get("/")
@allow(*READERS)
def index():
    today = business_today()
    fund = request.args.get("fund") or None
    bank = own_bank()
    with reading() as s:
        check_fund(s, fund)
        version = books_version(s)
        waiting = awaiting(s)
        last_ageing = runs_page(s, job="ageing", status="succeeded", limit=1).items
        uploads = upload_counts(s, today, bank=bank)
    # Computed in a transaction that commits: the loans' stored installments and states
    # it writes on the way serve the next computation (ledger.fund.dues).
    cached = current_app.extensions["fundledger.figures"].get(
        ("dashboard", today, fund, bank), version,
        lambda: write(lambda s: figures(s, today, fund, bank)),
    )  # fmt: skip
    board = replace(cached["board"], awaiting=waiting)
    every_fund, per_fund, rates = cached["funds"], cached["per_fund"], cached["rates"]
    lines = [b for b in board.banks if bank is None or b.code == bank]
    ageing = last_ageing[0] if last_ageing else None
    buckets = {b: (ageing.counts or {}).get(f"overdue_{b}", 0) for b in BUCKETS} if ageing else {}
    return render_template(
        "dashboard/index.html", board=board, lines=lines, funds=every_fund, fund=fund,
        per_fund=per_fund, rates=rates, ageing=ageing, buckets=buckets,
        uploads=uploads, bank=bank,
    )  # fmt: skip
