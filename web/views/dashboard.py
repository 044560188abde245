"""The dashboard: the fund (or one of the funds) on one page, for everyone who reads.

A bank user sees their own bank's lines only; capital by source and the city's totals
are the bureau's."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from ledger.bankfiles.receipts import receipts
from ledger.clock import business_today
from ledger.fund.funds import funds
from ledger.fund.leverage import compensation_rate_ppm, repayment_rate_ppm
from ledger.fund.read.dashboard import dashboard
from ledger.ops.runs import runs_page
from web.authz import READERS, allow, own_bank
from web.database import reading

bp = Blueprint("dashboard", __name__)

BUCKETS = ("1-30", "31-90", "91-180", ">180")


@bp.get("/")
@allow(*READERS)
def index():
    today = business_today()
    fund = request.args.get("fund") or None
    bank = own_bank()
    with reading() as s:
        board = dashboard(s, today, fund)
        every_fund = funds(s)
        per_fund = [dashboard(s, today, f.code) for f in every_fund] if fund is None else []
        year = today.year - 1
        rates = {
            "compensation": compensation_rate_ppm(s, bank, today, fund),
            "repayment": repayment_rate_ppm(
                s, bank, today.replace(year=year, month=1, day=1),
                today.replace(year=year, month=12, day=31), fund,
            ),
        }  # fmt: skip
        last_ageing = runs_page(s, job="ageing", status="succeeded", limit=1).items
        uploads = receipts(s, bank=bank, uploaded_from=today, uploaded_to=today, limit=200)
    lines = [b for b in board.banks if bank is None or b.code == bank]
    ageing = last_ageing[0] if last_ageing else None
    buckets = {b: (ageing.counts or {}).get(f"overdue_{b}", 0) for b in BUCKETS} if ageing else {}
    return render_template(
        "dashboard/index.html", board=board, lines=lines, funds=every_fund, fund=fund,
        per_fund=per_fund, rates=rates, ageing=ageing, buckets=buckets,
        uploads=uploads.items, bank=bank,
    )  # fmt: skip
