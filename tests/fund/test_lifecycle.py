"""Every status of the fund is a StrEnum with its moves in one table beside its model;
a move the table does not hold is refused with StatusTransitionError, whatever the
operation that tried it."""

from __future__ import annotations

import re

import pytest

from ledger.bankfiles import models as bankfile_models
from ledger.fund import models
from ledger.fund.errors import StatusTransitionError
from ledger.fund.models import (
    Claim,
    ClaimStatus,
    Loan,
    LoanStatus,
    set_status,
)

LIFECYCLES = {
    models.CapitalAllocation: models.AllocationStatus,
    models.Commitment: models.CommitmentStatus,
    models.Loan: models.LoanStatus,
    models.CounterGuarantee: models.CounterGuaranteeStatus,
    models.Claim: models.ClaimStatus,
    models.WriteOff: models.WriteOffStatus,
    bankfile_models.BankFileImport: bankfile_models.ImportStatus,
}


@pytest.mark.parametrize("model", LIFECYCLES, ids=lambda m: m.__name__)
def test_each_lifecycle_names_exactly_the_statuses_its_table_allows(model):
    statuses = LIFECYCLES[model]
    (check,) = [
        c
        for c in model.__table__.constraints
        if str(getattr(c, "sqltext", "")).startswith("status")
    ]
    allowed = set(re.findall(r"'([a-z_]+)'", str(check.sqltext)))
    assert {s.value for s in statuses} == allowed
    lifecycle = model.lifecycle
    assert set(lifecycle.names_zh) == allowed
    for start, ends in lifecycle.moves.items():
        assert start in allowed and ends <= allowed and start not in ends


def test_a_move_the_table_holds_is_made_and_stored_as_plain_text():
    loan = Loan(bank_code="ICBC", contract_no="GH-1", status="active")
    set_status(loan, LoanStatus.REPAID)
    set_status(loan, LoanStatus.ACTIVE)  # a reversal re-opens it
    set_status(loan, LoanStatus.CLAIMED)
    set_status(loan, LoanStatus.WRITTEN_OFF)
    assert loan.status == "written_off" and type(loan.status) is str


@pytest.mark.parametrize(
    ("record", "new", "message", "zh"),
    [
        (Loan(bank_code="ICBC", contract_no="GH-1", status="claimed"), LoanStatus.ACTIVE,
         "loan ICBC/GH-1 is claimed and cannot become active",
         "贷款 ICBC/GH-1 状态为已代偿，不能变为正常"),
        (Loan(bank_code="ICBC", contract_no="GH-1", status="written_off"), LoanStatus.RECOVERED,
         "loan ICBC/GH-1 is written_off and cannot become recovered",
         "贷款 ICBC/GH-1 状态为已核销，不能变为已追回"),
        (Claim(number="C-1", status="paid"), ClaimStatus.REJECTED,
         "claim C-1 is paid and cannot become rejected",
         "代偿申请 C-1 状态为已代偿，不能变为已驳回"),
        (Claim(number="C-1", status="filed"), ClaimStatus.PAID,
         "claim C-1 is filed and cannot become paid", "代偿申请 C-1 状态为已申请，不能变为已代偿"),
        (Claim(number="C-1", status="approved"), ClaimStatus.APPROVED,
         "claim C-1 is approved and cannot become approved",
         "代偿申请 C-1 状态为已审核，不能变为已审核"),
    ],
)  # fmt: skip
def test_a_move_the_table_does_not_hold_is_refused_by_name(record, new, message, zh):
    before = record.status
    with pytest.raises(StatusTransitionError) as info:
        set_status(record, new)
    assert (str(info.value), info.value.zh, info.value.code) == (message, zh, "status-transition")
    assert record.status == before
