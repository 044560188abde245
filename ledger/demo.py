"""A demo city's books, built through the ledger's own posting functions (no direct SQL).

Deterministic for a given seed: capital from the province, the city and three districts,
placements at three partner banks, guarantee exposure on a few hundred loans, repayments,
deposit interest, a mistaken entry corrected by reversal, and a closed first half-year.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from ledger import chart
from ledger.accounts import AccountSpec, ensure_accounts
from ledger.chain import drain_sealer
from ledger.db import run_in_transaction
from ledger.entries import EntryDraft, credit, debit, post_entries, reverse_entry
from ledger.periods import close_period

BANKS = (("ICBC", "工商银行"), ("ABC", "农业银行"), ("RCB", "农村商业银行"))
SOURCES = (
    ("provincial", "省级拨付"),
    ("city", "市级配套"),
    ("district", "区县配套"),
    ("other", "其他来源"),
)
#: The one income account of the ledger-level demo chart (the fund attributes by source).
INTEREST_INCOME = chart.interest_income_account("city")
DISTRICTS = (("D01", "城东区"), ("D02", "城西区"), ("D03", "新河县"))
ACTOR = "system:demo"


@dataclass(frozen=True)
class DemoSummary:
    entries: int
    loans: int


def demo_chart() -> list[AccountSpec]:
    specs = list(chart.STANDARD_CHART)
    for code, name in SOURCES:
        is_group = code == "district"
        specs.append(
            AccountSpec(chart.capital_account(code), name, is_group=is_group, capital_source=code)
        )
    for code, name in DISTRICTS:
        specs.append(AccountSpec(f"capital:district:{code}", f"区县配套-{name}", district=code))
    specs.append(AccountSpec(INTEREST_INCOME, "专户存款利息收入-市级配套", capital_source="city"))
    for code, name in BANKS:
        specs.extend(chart.bank_accounts(code, name))
    return specs


def build_demo(
    factory: sessionmaker[Session], *, seed: int = 2026, loans: int = 300
) -> DemoSummary:
    """Post the demo city's first year of books; returns how much was posted."""
    rng = random.Random(seed)
    run_in_transaction(factory, lambda s: ensure_accounts(s, demo_chart()))
    start = dt.date(2025, 1, 6)
    drafts = _capital_and_placements(start)
    loan_drafts, loan_specs = _loans(rng, start, loans)
    run_in_transaction(factory, lambda s: ensure_accounts(s, loan_specs))
    everything = drafts + loan_drafts
    posted = run_in_transaction(factory, lambda s: post_entries(s, everything, actor=ACTOR))
    mistaken = run_in_transaction(
        factory,
        lambda s: post_entries(
            s,
            [
                EntryDraft(
                    dt.date(2025, 6, 20),
                    "capital.placement",
                    (debit("asset:special:RCB", 12_345_00), credit(chart.TREASURY, 12_345_00)),
                    "误录：重复拨付农村商业银行专户",
                )
            ],
            actor="clerk:wang",
        ),
    )[0]
    run_in_transaction(
        factory,
        lambda s: reverse_entry(
            s, mistaken.entry_id, actor="approver:li", description="冲正误录分录"
        ),
    )
    run_in_transaction(
        factory, lambda s: close_period(s, dt.date(2025, 6, 30), actor="approver:li")
    )
    drain_sealer(factory.kw["bind"])
    return DemoSummary(entries=len(posted) + 2, loans=loans)


def _capital_and_placements(start: dt.date) -> list[EntryDraft]:
    def capital(day: int, source: str, fen: int, text: str) -> EntryDraft:
        return EntryDraft(
            start + dt.timedelta(days=day),
            "capital.allocation",
            (debit(chart.TREASURY, fen), credit(source, fen)),
            text,
        )

    def place(day: int, bank: str, fen: int) -> EntryDraft:
        return EntryDraft(
            start + dt.timedelta(days=day),
            "capital.placement",
            (debit(chart.special_account(bank), fen), credit(chart.TREASURY, fen)),
            f"存入{bank}担保基金专户",
        )

    drafts = [
        capital(0, "capital:provincial", 5_000_000_00, "省财政厅拨付小额担保贷款担保基金"),
        capital(14, "capital:city", 2_500_000_00, "市级配套资金"),
        capital(30, "capital:district:D01", 600_000_00, "城东区配套资金"),
        capital(45, "capital:district:D02", 400_000_00, "城西区配套资金"),
        capital(120, "capital:district:D03", 150_000_00, "新河县配套资金（部分到位）"),
        capital(200, "capital:other", 80_000_00, "社会捐赠"),
        place(20, "ICBC", 3_500_000_00),
        place(21, "ABC", 2_500_000_00),
        place(50, "RCB", 1_500_000_00),
        place(150, "RCB", 500_000_00),
    ]
    for quarter in range(1, 4):
        for bank, rate_fen in (("ICBC", 10_500_00), ("ABC", 7_500_00), ("RCB", 5_250_00)):
            drafts.append(
                EntryDraft(
                    dt.date(2025, 3 * quarter, 21),
                    "interest.deposit",
                    (
                        debit(chart.special_account(bank), rate_fen),
                        credit(INTEREST_INCOME, rate_fen),
                    ),
                    f"{bank}专户季度结息",
                )
            )
    return drafts


def _loans(rng: random.Random, start: dt.date, count: int):
    drafts, specs = [], []
    for n in range(1, count + 1):
        bank = BANKS[n % len(BANKS)][0]
        loan = f"L{n:05d}"
        exposure = f"{chart.exposure_account(bank)}:{loan}"
        contra = f"{chart.exposure_contra_account(bank)}:{loan}"
        specs += [
            AccountSpec(exposure, f"在保责任-{loan}", loan=loan),
            AccountSpec(contra, f"在保责任对方-{loan}", loan=loan),
        ]
        principal = rng.choice((30_000, 50_000, 80_000, 100_000, 150_000, 200_000)) * 100
        guaranteed = principal * 80 // 100
        day = start + dt.timedelta(days=60 + rng.randrange(250))
        drafts.append(
            EntryDraft(
                day,
                "loan.disbursement",
                (debit(exposure, guaranteed), credit(contra, guaranteed)),
                f"贷款{loan}放款，担保80%",
            )
        )
        repaid = guaranteed * rng.choice((0, 10, 25, 50)) // 100
        if repaid:
            drafts.append(
                EntryDraft(
                    day + dt.timedelta(days=90),
                    "loan.repayment",
                    (debit(contra, repaid), credit(exposure, repaid)),
                    f"贷款{loan}还款",
                )
            )
    return drafts, specs
