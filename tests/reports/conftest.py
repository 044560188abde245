"""The reports' city: the fund tests' portfolio (``tests.fund.conftest.build_portfolio``,
every number stated there) and, on top of it:

- claim 4 (C2025-ICBC-00002, 32,000 yuan, approved 2025-08-05) paid on 2025-08-20;
- write-off 1 (ABC-001, the 32,000 yuan left of claim 2) approved on 2025-10-10: split
  5 : 2 : 0.6 : 0.4 by the sources' capital — provincial 20,000, city 8,000,
  district-D01 2,400, other 1,600 yuan;
- 5,000 yuan recovered on ABC-001 on 2025-11-15 after the write-off: the fund's 80 %,
  4,000 yuan, into ABC's special account, taking back the losses the same way —
  provincial 2,500, city 1,000, district-D01 300, other 200;
- 100,000 yuan withdrawn from ABC's special account to the treasury on 2025-12-01;
- ICBC interest of 12,000 yuan on 2025-12-21 (ICBC-2025Q4), split by capital —
  provincial 7,500, city 3,000, district-D01 900, other 600.

So in the second half of 2025 (opening = the 8,000,000 yuan received, 4,000,000 in the
treasury, 1,000,000 at ABC, 3,000,000 at ICBC; exposure ICBC 200,000, ABC 88,000):
capital closes at 7,984,000.00 yuan = treasury 4,100,000 + ABC 872,000 + ICBC 2,980,000
+ receivable 32,000 (ICBC-003's claim) − claims payable 0; exposure closes at ICBC
128,000 (ICBC-001 64,000, ICBC-002 64,000), ABC 48,000 (ABC-002).
"""

from __future__ import annotations

import pytest

from ledger.chain import drain_sealer
from ledger.fund import capital, claims, recoveries
from ledger.fund.models import WriteOff
from tests.fund.conftest import D, build_portfolio, run


def build_books(factory):
    build_portfolio(factory)

    def work(s):
        claims.pay_claim(s, "C2025-ICBC-00002", on=D(2025, 8, 20), actor="approver2")
        recoveries.approve_write_off(
            s, s.query(WriteOff).one().id, on=D(2025, 10, 10), actor="approver"
        )
        recoveries.record_recovery(
            s, bank="ABC", contract_no="ABC-001", amount=500_000, on=D(2025, 11, 15),
            actor="clerk", reference="执行回款",
        )  # fmt: skip
        capital.withdraw_capital(s, "ABC", 10_000_000, D(2025, 12, 1), actor="clerk")
        capital.record_deposit_interest(
            s, "ICBC", 1_200_000, D(2025, 12, 21), "ICBC-2025Q4", actor="icbc"
        )

    run(factory, work)
    # Every entry in its place in the chain: a report of an open period stands on the
    # head, which covers what it counts once the sealer is done (as the command line
    # seals first).
    assert drain_sealer(factory.kw["bind"])
    return factory


@pytest.fixture
def books(factory):
    """:func:`build_books`; returns the factory."""
    return build_books(factory)
