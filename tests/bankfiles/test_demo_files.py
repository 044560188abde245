"""The demo city's bank files (``fundledger imports demo``): every status of receipt, and
the books still verify."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from ledger.bankfiles.models import BankBalanceLine
from ledger.demo.bank_files import ROWS, demo_bank_files
from ledger.demo.city import build_fund_demo
from ledger.fund.models import Loan
from ledger.verify import verify

TODAY = dt.date(2026, 11, 30)


def test_the_demo_banks_files_give_receipts_of_every_status(factory, tmp_path):
    build_fund_demo(factory, loans=30, today=TODAY)
    with factory() as s:
        loans = dict(s.execute(select(Loan.bank_code, func.count()).group_by(Loan.bank_code)).all())
        active = dict(
            s.execute(
                select(Loan.bank_code, func.count())
                .where(Loan.status == "active")
                .group_by(Loan.bank_code)
            ).all()
        )
        as_of = s.scalar(select(func.max(func.coalesce(Loan.last_paid_on, Loan.disbursed_on))))
    paid_on = as_of + dt.timedelta(days=20)
    done = demo_bank_files(factory, tmp_path, today=TODAY)
    got = [(path.name, r.status, r.rows, r.posted, r.skipped, r.errors) for path, r in done]
    icbc, abc = min(ROWS, active["ICBC"]), min(ROWS, active["ABC"])
    day, due = f"{as_of:%Y%m%d}", f"{paid_on:%Y%m%d}"
    assert got == [
        (f"ABC_balances_{day}_1.csv", "accepted", loans["ABC"], loans["ABC"], 0, 0),
        (f"ICBC_balances_{day}_1.csv", "accepted", loans["ICBC"], loans["ICBC"], 0, 0),
        (f"RCB_balances_{day}_1.csv", "accepted", loans["RCB"], loans["RCB"], 0, 0),
        (f"ICBC_repayment_{due}_1.csv", "accepted", icbc, icbc, 0, 0),
        (f"ICBC_repayment_{due}_1.csv", "duplicate", icbc, 0, icbc, 0),
        (f"ABC_repayment_{due}_1.csv", "rejected", abc, 0, 0, 2),
    ]
    report = (tmp_path / f"ABC_repayment_{due}_1.csv.errors.csv").read_text("utf-8-sig")
    lines = report.splitlines()
    assert lines[0] == "行号 row,列 column,原值 value,错误说明,message,code"
    assert [line.split(",")[:2] for line in lines[1:]] == [
        ["3", "balance_after"],
        ["4", "contract_no"],
    ]
    assert lines[1].endswith(",balance-mismatch")
    assert lines[2].endswith(",invalid-state")
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(BankBalanceLine)) == sum(loans.values())
        assert verify(s).problems == []
