"""After compensation: recoveries (追偿), enforcement of counter-guarantees, write-offs (核销).

A recovery is shared between the fund and the bank in proportion to their shares of the
loss, computed on the running total so that rounding never drifts: after any sequence
of recoveries the fund has had exactly ``round(total recovered × fund loss / loss)``,
and the total can never exceed the loss still owed.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledger import chart
from ledger.clock import utcnow
from ledger.entries import credit, debit
from ledger.fund.books import balance_now, post, pro_rata, ratio_share, receivable_account
from ledger.fund.capital import attribute
from ledger.fund.claims import paid_claim
from ledger.fund.errors import CounterGuaranteeError, RecoveryError, WriteOffError
from ledger.fund.guarantees import KIND_NAMES_ZH, close_counter_guarantee
from ledger.fund.loans import get_loan
from ledger.fund.models import (
    Commitment,
    CounterGuarantee,
    Loan,
    LoanStatus,
    Recovery,
    WriteOff,
    WriteOffStatus,
    set_status,
)
from ledger.fund.policy import rules_on
from ledger.fund.reference import (
    Role,
    check_maker_checker,
    refuse_future,
    require_bank_access,
    require_role,
)
from ledger.money import format_yuan


def record_recovery(
    session: Session,
    *,
    bank: str,
    contract_no: str,
    amount: int,
    on: dt.date,
    actor: str,
    reference: str = "",
    counter_guarantee_id: int | None = None,
    today: dt.date | None = None,
) -> Recovery:
    """Money recovered on a compensated loan: the fund's share goes back to the special
    account and reduces the receivable; the bank keeps its share."""
    require_bank_access(session, actor, bank, Role.CLERK, Role.APPROVER, Role.BANK)
    refuse_future(on, today, "recovery date", "追偿日期", RecoveryError)
    loan = get_loan(session, bank, contract_no, for_update=True)
    # A written-off loan is still pursued (账销案存): what is recovered reduces the losses
    # the write-off attributed to the capital sources.
    written_off = _approved_write_off(session, loan) if loan.status == "written_off" else None
    claim = paid_claim(session, loan)
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise RecoveryError("the recovered amount must be positive", zh="追偿金额必须大于零")
    if on < claim.paid_on:
        raise RecoveryError(
            f"recovery date {on} is before the compensation was paid on {claim.paid_on}",
            zh=f"追偿日期 {on} 早于代偿日期 {claim.paid_on}",
        )
    before = recovered_total(session, claim.id)
    owed = claim.loss - before
    if amount > owed:
        raise RecoveryError(
            f"loan {loan.contract_no}: {format_yuan(amount)} yuan is more than the "
            f"{format_yuan(owed)} yuan still owed (loss {format_yuan(claim.loss)} yuan, "
            f"recovered {format_yuan(before)} yuan)",
            zh=f"贷款 {loan.contract_no} 追偿 {format_yuan(amount)} 元超过尚欠的 "
            f"{format_yuan(owed)} 元（损失 {format_yuan(claim.loss)} 元，已追回 "
            f"{format_yuan(before)} 元）",
        )
    fund = ratio_share(before + amount, claim.amount, claim.loss) - ratio_share(
        before, claim.amount, claim.loss
    )
    source = "counter_guarantee" if counter_guarantee_id is not None else "borrower"
    recovery = Recovery(
        claim_id=claim.id,
        loan_id=loan.id,
        recovered_on=on,
        total=amount,
        fund_share=fund,
        bank_share=amount - fund,
        source=source,
        counter_guarantee_id=counter_guarantee_id,
        after_write_off_id=written_off.id if written_off is not None else None,
        reference=reference.strip(),
        recorded_by=actor,
        recorded_at=utcnow(),
    )
    session.add(recovery)
    session.flush()
    if fund > 0 and written_off is not None:
        parts = recovery.allocation = _losses_recovered(session, written_off, fund)
        session.flush()
        legs = [debit(chart.special_account(bank, loan.fund_code), fund)]
        legs += [credit(chart.loss_account(src), fen) for src, fen in sorted(parts.items()) if fen]
        recovery.entry_id = post(
            session,
            on,
            "recovery",
            legs,
            f"核销后追偿 {loan.contract_no}：共 {format_yuan(amount)} 元，"
            f"基金分得 {format_yuan(fund)} 元，冲减核销损失",
            actor=actor,
            key=f"recovery:{recovery.id}",
        )
    elif fund > 0:
        recovery.entry_id = post(
            session,
            on,
            "recovery",
            [
                debit(chart.special_account(bank, loan.fund_code), fund),
                credit(receivable_account(loan.id), fund),
            ],
            f"追偿 {loan.contract_no}：共 {format_yuan(amount)} 元，"
            f"基金分得 {format_yuan(fund)} 元",
            actor=actor,
            key=f"recovery:{recovery.id}",
        )
    if (
        written_off is None
        and balance_now(session, receivable_account(loan.id)) == 0
        and (loan.status != "recovered")
    ):
        set_status(loan, LoanStatus.RECOVERED)
    session.flush()
    return recovery


def enforce_counter_guarantee(
    session: Session,
    counter_guarantee_id: int,
    *,
    proceeds: int,
    on: dt.date,
    actor: str,
    today: dt.date | None = None,
) -> Recovery | None:
    """Enforce a held counter-guarantee of a compensated loan; its proceeds are a recovery."""
    require_role(session, actor, Role.CLERK, Role.APPROVER)
    refuse_future(on, today, "enforcement date", "反担保处置日期", CounterGuaranteeError)
    item = session.scalar(
        select(CounterGuarantee)
        .where(CounterGuarantee.id == counter_guarantee_id)
        .with_for_update()
    )
    if item is None:
        raise CounterGuaranteeError(
            f"no counter-guarantee {counter_guarantee_id}",
            zh=f"反担保 {counter_guarantee_id} 不存在",
        )
    if item.status != "held":
        raise CounterGuaranteeError(
            f"counter-guarantee {item.id} is {item.status}, not held",
            zh=f"反担保 {item.id} 已{'解除' if item.status == 'released' else '处置'}",
        )
    commitment = session.get(Commitment, item.commitment_id)
    loan = session.scalar(select(Loan).where(Loan.commitment_id == commitment.id))
    if loan is None or loan.status not in ("claimed", "recovered"):
        raise CounterGuaranteeError(
            f"counter-guarantee {item.id}: its loan has no paid compensation to recover",
            zh=f"反担保 {item.id} 对应的贷款尚未代偿，不能处置",
        )
    close_counter_guarantee(
        session, commitment, item, "enforced", on, actor, f"处置{KIND_NAMES_ZH[item.kind]}"
    )
    if proceeds == 0:
        session.flush()
        return None
    return record_recovery(
        session,
        bank=loan.bank_code,
        contract_no=loan.contract_no,
        amount=proceeds,
        on=on,
        actor=actor,
        reference=f"counter-guarantee {item.id}",
        counter_guarantee_id=item.id,
        today=today,
    )


def request_write_off(
    session: Session,
    *,
    bank: str,
    contract_no: str,
    reason: str,
    on: dt.date,
    actor: str,
    today: dt.date | None = None,
) -> WriteOff:
    """A clerk proposes writing off what is left of a compensation receivable."""
    require_role(session, actor, Role.CLERK)
    refuse_future(on, today, "write-off request date", "核销申请日期", WriteOffError)
    loan = get_loan(session, bank, contract_no, for_update=True)
    claim = paid_claim(session, loan)
    left = balance_now(session, receivable_account(loan.id))
    if left <= 0:
        raise WriteOffError(
            f"loan {loan.contract_no} has nothing left to write off",
            zh=f"贷款 {loan.contract_no} 无剩余应收代偿款可核销",
        )
    if not reason.strip():
        raise WriteOffError("a write-off needs a reason", zh="核销须注明原因")
    pending = session.scalar(
        select(WriteOff.id).where(WriteOff.claim_id == claim.id, WriteOff.status != "rejected")
    )
    if pending is not None:
        raise WriteOffError(
            f"loan {loan.contract_no} already has write-off {pending}",
            zh=f"贷款 {loan.contract_no} 已有核销申请 {pending}",
        )
    row = WriteOff(
        claim_id=claim.id,
        loan_id=loan.id,
        amount=left,
        reason=reason.strip(),
        status="requested",
        requested_by=actor,
        requested_on=on,
    )
    session.add(row)
    session.flush()
    return row


def approve_write_off(
    session: Session,
    write_off_id: int,
    *,
    on: dt.date,
    actor: str,
    today: dt.date | None = None,
) -> WriteOff:
    """Another approver approves: the receivable left is written off and the loss
    attributed to capital sources under the rule in force on ``on``."""
    require_role(session, actor, Role.APPROVER)
    refuse_future(on, today, "write-off date", "核销日期", WriteOffError)
    row = _requested(session, write_off_id)
    check_maker_checker(row.requested_by, actor, f"write-off {row.id}", f"核销申请 {row.id}")
    loan = session.scalar(select(Loan).where(Loan.id == row.loan_id).with_for_update())
    left = balance_now(session, receivable_account(loan.id))
    if left <= 0:
        raise WriteOffError(
            f"loan {loan.contract_no} has nothing left to write off (recovered since the request)",
            zh=f"贷款 {loan.contract_no} 应收代偿款已全部追回，无需核销",
        )
    if on < row.requested_on:
        raise WriteOffError(
            f"write-off {row.id} was requested on {row.requested_on}; {on} is before that",
            zh=f"核销日期 {on} 早于申请日期 {row.requested_on}",
        )
    rule = rules_on(session, on)["loss_attribution"]
    # The sources' capital as of the write-off, or as of the guarantee, as the rules say.
    split_on = on
    if rule["as_of"] == "guarantee":
        split_on = session.scalar(
            select(Commitment.approved_on).where(Commitment.id == loan.commitment_id)
        )
    rule, allocation = attribute(session, left, split_on, rule, loan.fund_code)
    legs = [debit(chart.loss_account(src), fen) for src, fen in sorted(allocation.items())]
    legs.append(credit(receivable_account(loan.id), left))
    row.entry_id = post(
        session,
        on,
        "write-off",
        legs,
        f"核销 {loan.bank_code} 贷款 {loan.contract_no} 代偿损失 {format_yuan(left)} 元",
        actor=actor,
        key=f"write-off:{row.id}",
    )
    row.amount = left
    row.rule = rule
    row.allocation = allocation
    set_status(row, WriteOffStatus.APPROVED)
    row.decided_by = actor
    row.decided_on = on
    set_status(loan, LoanStatus.WRITTEN_OFF)
    session.flush()
    return row


def reject_write_off(
    session: Session,
    write_off_id: int,
    reason: str,
    *,
    on: dt.date,
    actor: str,
    today: dt.date | None = None,
) -> WriteOff:
    require_role(session, actor, Role.APPROVER)
    refuse_future(on, today, "write-off rejection date", "核销驳回日期", WriteOffError)
    row = _requested(session, write_off_id)
    check_maker_checker(row.requested_by, actor, f"write-off {row.id}", f"核销申请 {row.id}")
    if not reason.strip():
        raise WriteOffError("a rejection needs a reason", zh="驳回须注明原因")
    set_status(row, WriteOffStatus.REJECTED)
    row.decided_by = actor
    row.decided_on = on
    row.reason = f"{row.reason}\n驳回：{reason.strip()}"
    session.flush()
    return row


def _approved_write_off(session: Session, loan: Loan) -> WriteOff:
    return session.scalar(
        select(WriteOff).where(WriteOff.loan_id == loan.id, WriteOff.status == "approved")
    )


def _losses_recovered(session: Session, write_off: WriteOff, fund: int) -> dict[str, int]:
    """The part of each source's written-off loss that ``fund`` (the fund's share of a new
    recovery) gives back: split in proportion to what each source still bears of the
    write-off (what it was attributed less what earlier recoveries gave back), so the
    parts add up to ``fund`` exactly and no source ever gets back more than it bore."""
    left = {src: int(fen) for src, fen in dict(write_off.allocation).items()}
    for (earlier,) in session.execute(
        select(Recovery.allocation).where(Recovery.after_write_off_id == write_off.id)
    ):
        for src, fen in (earlier or {}).items():
            left[src] -= int(fen)
    return pro_rata(fund, left)


def recovered_total(session: Session, claim_id: int) -> int:
    return int(
        session.scalar(
            select(func.coalesce(func.sum(Recovery.total), 0)).where(Recovery.claim_id == claim_id)
        )
    )


def _requested(session: Session, write_off_id: int) -> WriteOff:
    row = session.scalar(select(WriteOff).where(WriteOff.id == write_off_id).with_for_update())
    if row is None:
        raise WriteOffError(f"no write-off {write_off_id}", zh=f"核销申请 {write_off_id} 不存在")
    if row.status != "requested":
        raise WriteOffError(
            f"write-off {write_off_id} is already {row.status}",
            zh=f"核销申请 {write_off_id} 已处理",
        )
    return row
