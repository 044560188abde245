"""Concurrent disbursements at one bank never break the leverage cap together."""

from __future__ import annotations

import threading
import traceback

import pytest

from ledger import chart
from ledger.chain import drain_sealer
from ledger.fund import capital, guarantees, leverage, loans
from ledger.fund.books import balance_now, subtree_balance_now
from ledger.fund.borrowers import register_borrower
from ledger.fund.errors import LeverageCapError
from ledger.fund.guarantees import CounterGuaranteeSpec
from ledger.verify import verify
from tests.fund.conftest import D, borrower_id, run

THREADS = 8
PRINCIPAL = 20_000_000  # 200,000 yuan → exposure 160,000 yuan each
EXPOSURE = 16_000_000
#: ABC keeps 165,000 yuan: cap 5 × 165,000 = 825,000 yuan, room for 5 loans (800,000).
SPECIAL = 16_500_000
FITS = 5


@pytest.mark.postgresql_only
def test_eight_disbursements_race_for_the_cap(fund):
    def setup(s):
        capital.withdraw_capital(s, "ABC", 100_000_000 - SPECIAL, D(2025, 2, 1), actor="clerk")
        numbers = []
        for n in range(THREADS):
            number = borrower_id(60 + n)
            register_borrower(
                s, id_number=number, name=f"借款人{n}", district="D02",
                categories=["graduate"], actor="clerk",
            )  # fmt: skip
            c = guarantees.approve_guarantee(
                s, id_number=number, bank="ABC", amount=PRINCIPAL, term_months=12,
                on=D(2025, 3, 1), actor="approver",
                counter_guarantees=(CounterGuaranteeSpec("credit_community"),),
            )  # fmt: skip
            numbers.append((number, c.number))
        return numbers

    commitments = run(fund, setup)
    accepted, refused, failures = [], [], []
    lock = threading.Lock()
    barrier = threading.Barrier(THREADS)

    def client(n):
        number, guarantee_no = commitments[n]
        barrier.wait()
        try:
            run(
                fund,
                lambda s: loans.disburse(
                    s, bank="ABC", contract_no=f"ABC-{n:03d}", guarantee_no=guarantee_no,
                    borrower_name=f"借款人{n}", id_number=number, disbursed_on=D(2025, 3, 5),
                    maturity_on=D(2026, 3, 5), principal=PRINCIPAL, annual_rate_ppm=45_000,
                    method="bullet", actor="abc",
                ),
            )  # fmt: skip
        except LeverageCapError as exc:
            with lock:
                refused.append((n, exc))
        except Exception:
            with lock:
                failures.append(traceback.format_exc())
        else:
            with lock:
                accepted.append(n)

    workers = [threading.Thread(target=client, args=(n,)) for n in range(THREADS)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=120)
    assert not any(w.is_alive() for w in workers)
    assert failures == []
    assert len(accepted) == FITS
    assert len(refused) == THREADS - FITS
    for _, exc in refused:
        assert exc.code == "leverage-cap"
        # Each refusal saw the five accepted loans' exposure (the bank row lock serialises).
        assert (exc.cap, exc.exposure, exc.shortfall) == (
            82_500_000,
            FITS * EXPOSURE,
            FITS * EXPOSURE + EXPOSURE - 82_500_000,
        )
        assert str(exc) == (
            "bank ABC: guarantee exposure would be 960,000.00 yuan, over the leverage cap of "
            "825,000.00 yuan (5 × special account 165,000.00 yuan; exposure now "
            "800,000.00 yuan); short by 135,000.00 yuan"
        )
    assert drain_sealer(fund.kw["bind"])
    with fund() as s:
        exposure = subtree_balance_now(s, chart.exposure_account("ABC"))
        assert exposure == FITS * EXPOSURE == 80_000_000
        cap = leverage.capacity(s, "ABC", D(2025, 3, 5))
        assert (cap.exposure, cap.cap, cap.remaining) == (80_000_000, 82_500_000, 2_500_000)
        assert exposure <= cap.cap
        assert balance_now(s, chart.special_account("ABC")) == SPECIAL
        statuses = sorted(guarantees.get_commitment(s, c).status for _, c in commitments)
        assert statuses == ["approved"] * (THREADS - FITS) + ["used"] * FITS
        assert verify(s).problems == []
