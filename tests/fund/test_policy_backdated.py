"""A bureau adopting the books records its local rules with their real dates: a backdated
override is an explicit choice, and refused once a record it would govern exists."""

from __future__ import annotations

from ledger.fund import guarantees
from ledger.fund.errors import PolicyError
from ledger.fund.guarantees import CounterGuaranteeSpec
from ledger.fund.policy import record_override, rules_on
from tests.fund.conftest import D, refused, run

TODAY = D(2025, 6, 1)


def backdate(fund, on, params, *, backdated=True):
    return run(
        fund,
        lambda s: record_override(
            s, effective_from=on, params=params, actor="admin", note="市政府 2024 年第 9 号文",
            today=TODAY, backdated=backdated,
        ),
    )  # fmt: skip


def test_a_backdated_override_needs_saying_so(fund):
    e = refused(PolicyError, backdate, fund, D(2025, 1, 1), {"coverage_ppm": 700_000},
                backdated=False)  # fmt: skip
    assert str(e).startswith("an override may not be backdated: 2025-01-01 is before today")
    row = backdate(fund, D(2025, 1, 1), {"coverage_ppm": 700_000})
    assert (row.effective_from, row.recorded_by) == (D(2025, 1, 1), "admin")
    with fund() as s:
        assert rules_on(s, D(2025, 1, 1))["coverage_ppm"] == 700_000
        assert rules_on(s, D(2024, 12, 31))["coverage_ppm"] == 800_000


def test_a_backdated_override_may_not_change_rules_already_applied(fund, borrower):
    c = run(
        fund,
        lambda s: guarantees.approve_guarantee(
            s, id_number=borrower, bank="ICBC", amount=5_000_000, term_months=12,
            on=D(2025, 3, 1), actor="approver",
            counter_guarantees=(CounterGuaranteeSpec("credit_community"),),
        ),
    )  # fmt: skip
    e = refused(PolicyError, backdate, fund, D(2025, 2, 1), {"coverage_ppm": 700_000})
    assert str(e) == (
        f"an override backdated to 2025-02-01 would change the rules already applied to "
        f"guarantee {c.number} of 2025-03-01; backdate it no earlier than the day after the "
        "last record it would govern"
    )
    assert e.zh == (
        f"追溯至 2025-02-01 的政策调整会改变已适用于担保承诺 {c.number}（2025-03-01）的规则，"
        "生效日期不得早于其所涉及的最后一笔业务的次日"
    )
    backdate(fund, D(2025, 3, 2), {"coverage_ppm": 700_000})
    with fund() as s:
        assert rules_on(s, D(2025, 3, 2))["coverage_ppm"] == 700_000
