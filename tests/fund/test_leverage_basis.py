"""The leverage cap on either basis the provinces use — the fund's covered exposure or
the whole principal outstanding — and the floor of lending the later rules set, shown as
each bank's shortfall."""

from __future__ import annotations

import pytest

from ledger.fund import capital
from ledger.fund.errors import LeverageCapError, RowsRejectedError
from ledger.fund.leverage import capacity, capacity_as_of, principal_outstanding
from ledger.fund.policy import record_override
from ledger.money import format_times
from tests.fund.conftest import D, refused, run
from tests.fund.test_disbursement_batches import (  # noqa: F401 (fixture)
    PRINCIPAL,
    apply,
    commitments,
    line,
)

ON = D(2025, 3, 5)


def on_principal(fund):
    """A locality counting the whole principal, from 2025-03-02."""
    run(
        fund,
        lambda s: record_override(
            s, effective_from=D(2025, 3, 2), params={"leverage": {"basis": "principal"}},
            actor="admin", note="省财政厅 2025 年第 3 号文", today=D(2025, 3, 1),
        ),
    )  # fmt: skip


def test_on_the_exposure_basis_three_loans_fit(commitments):  # noqa: F811
    fund, numbers = commitments
    assert apply(fund, [line(n + 2, n, numbers) for n in range(3)]).posted == 3
    with fund() as s:
        cap = capacity(s, "ABC", ON)
    # 3 loans of 200,000: exposure 480,000 (80 %), principal outstanding 600,000.
    assert (cap.basis, cap.exposure, cap.outstanding, cap.liability) == (
        "exposure",
        48_000_000,
        60_000_000,
        48_000_000,
    )
    assert (cap.cap, cap.remaining) == (50_000_000, 2_000_000)
    assert (cap.exposure_used_ppm, cap.principal_used_ppm) == (4_800_000, 6_000_000)
    assert (format_times(cap.exposure_used_ppm), format_times(cap.principal_used_ppm)) == (
        "4.80x",
        "6.00x",
    )
    # The 2021 rules keep the 2020 floor: lend at least 3 × 100,000 yuan, which 600,000 does.
    assert (cap.min_lending_multiple, cap.min_lending, cap.lending_shortfall) == (
        3,
        30_000_000,
        0,
    )


def test_on_the_principal_basis_the_third_loan_breaks_the_cap(commitments):  # noqa: F811
    fund, numbers = commitments
    on_principal(fund)
    with pytest.raises(RowsRejectedError) as info:
        apply(fund, [line(n + 2, n, numbers) for n in range(3)])
    assert [(e.row, e.column) for e in info.value.errors] == [(4, "principal")]
    error = info.value.errors[0].error
    assert type(error) is LeverageCapError
    assert (error.cap, error.exposure, error.shortfall) == (50_000_000, 40_000_000, 10_000_000)
    assert str(error) == (
        "bank ABC: loans outstanding would be 600,000.00 yuan, over the leverage cap of "
        "500,000.00 yuan (5 × special account 100,000.00 yuan; outstanding now 400,000.00 "
        "yuan); short by 100,000.00 yuan"
    )
    assert error.zh == (
        "ABC 担保贷款余额将达 600,000.00 元，超过放大倍数上限 500,000.00 元（5 倍 × 专户余额 "
        "100,000.00 元；现担保贷款余额 400,000.00 元），缺口 100,000.00 元"
    )
    assert apply(fund, [line(n + 2, n, numbers) for n in range(2)]).posted == 2
    with fund() as s:
        cap = capacity(s, "ABC", ON)
        assert (cap.basis, cap.liability, cap.remaining) == ("principal", 40_000_000, 10_000_000)
        assert principal_outstanding(s, "ABC") == 2 * PRINCIPAL
        assert principal_outstanding(s, "ABC", D(2025, 3, 4)) == 0
        then = capacity_as_of(s, "ABC", ON)
        assert (then.outstanding, then.exposure) == (40_000_000, 32_000_000)


def test_a_withdrawal_is_held_to_the_cap_on_the_principal_basis(commitments):  # noqa: F811
    fund, numbers = commitments
    on_principal(fund)
    apply(fund, [line(n + 2, n, numbers) for n in range(2)])
    # 400,000 outstanding needs 80,000 in the account at 5×: 20,000 may go, not 20,000.01.
    e = refused(
        LeverageCapError,
        run,
        fund,
        lambda s: capital.withdraw_capital(s, "ABC", 2_000_001, D(2025, 3, 6), actor="clerk"),
    )
    assert str(e) == (
        "bank ABC: after withdrawing 20,000.01 yuan the leverage cap would be 399,999.95 yuan, "
        "below the loans outstanding of 400,000.00 yuan; short by 0.05 yuan"
    )
    run(fund, lambda s: capital.withdraw_capital(s, "ABC", 2_000_000, D(2025, 3, 6), actor="clerk"))


def test_the_lending_floor_shows_the_shortfall_of_idle_money(fund):
    with fund() as s:
        cap = capacity(s, "ICBC", ON)
    # ICBC holds 3,000,000 yuan and has lent nothing: it should have lent 9,000,000.
    assert (cap.special, cap.outstanding, cap.min_lending, cap.lending_shortfall) == (
        300_000_000,
        0,
        900_000_000,
        900_000_000,
    )
    assert (cap.exposure_used_ppm, cap.principal_used_ppm) == (0, 0)
    with fund() as s:
        # Before 2020 the rules set no floor.
        assert capacity(s, "ICBC", D(2019, 6, 1)).lending_shortfall == 0


def test_format_times_rounds_down():
    assert [format_times(v) for v in (3_500_000, 4_999_999, 0, None)] == [
        "3.50x",
        "4.99x",
        "0.00x",
        "n/a",
    ]
