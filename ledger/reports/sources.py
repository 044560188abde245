"""Where an entry came from: the bank file and the loan it moved (a file's entry moves
every loan of one date), the allocation, the claim, the recovery, the write-off, the
interest or fee received, the counter-guarantee — read from the records that keep their
entry's id, never parsed from text.

A bank file's data rows are not stored (only their content's hash, for idempotent
imports), so a posting of a bank file's entry names the file and the loan (and, for a
repayment, the bank's transaction reference) rather than a row number.

Each source carries a :class:`~ledger.reports.document.Drill` to the record's page:
``receipt`` (a bank file's receipt), ``allocation``, ``claim``, ``recovery``,
``write-off``, ``interest``, ``fee``, ``counter-guarantee``, ``loan``, ``entry`` — each
with its ``id`` (a claim's ``number``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.bankfiles.models import BankFileImport, BankFileImportEntry
from ledger.fund.models import (
    CapitalAllocation,
    Claim,
    CounterGuarantee,
    DepositInterest,
    GuaranteeFee,
    Loan,
    Recovery,
    Repayment,
    WriteOff,
)
from ledger.models import JournalEntry
from ledger.reports.document import Drill
from ledger.rows import chunks

#: A bank file's kinds, as its receipt shows them.
FILE_KINDS_ZH = {
    "disbursement": "放款",
    "repayment": "还款",
    "balances": "余额",
    "statement": "对账单",
    "borrowers": "借款人名单",
    "guarantees": "担保名单",
}

#: What an entry of a kind without a record of its own is.
KINDS_ZH = {
    "capital.allocation": "资本金到位",
    "capital.placement": "存入专户",
    "capital.withdrawal": "专户调回",
    "interest.deposit": "专户利息",
    "fee.guarantee": "担保费收入",
    "claim.approval": "代偿审核",
    "claim.payment": "代偿支付",
    "recovery": "追偿",
    "write-off": "核销",
    "loan.disbursement": "放款",
    "loan.repayment": "还款",
    "counter-guarantee.register": "反担保登记",
    "counter-guarantee.release": "反担保解除",
    "reversal": "冲销",
    "manual": "手工分录",
}


def kind_zh(kind: str) -> str:
    return KINDS_ZH.get(kind, kind)


@dataclass(frozen=True)
class Source:
    #: receipt, allocation, claim, recovery, write-off, interest, fee, counter-guarantee,
    #: loan, entry (an entry with no record of its own: its own page).
    kind: str
    #: The record's key (a receipt's id, a claim's number …).
    ref: str
    #: How a reader sees it, in Chinese.
    zh: str

    @property
    def drill(self) -> Drill:
        key = "number" if self.kind == "claim" else "id"
        return Drill(self.kind, ((key, self.ref),))


def entry_sources(
    session: Session, postings: Iterable[tuple[int, int | None]]
) -> dict[tuple[int, int | None], Source]:
    """The source of each ``(entry id, loan id)`` — a posting's entry and the loan its
    account belongs to (None: no loan's) — read in a few queries a chunk of entries."""
    postings = list(dict.fromkeys(postings))
    entries = sorted({e for e, _ in postings})
    found: dict[int, Source] = {}
    files: dict[int, int] = {}
    loans: dict[int, str] = {}
    refs: dict[tuple[int, int], list[str]] = defaultdict(list)
    loan_ids = sorted({loan for _, loan in postings if loan is not None})
    for chunk in chunks(loan_ids):
        loans.update(
            (i, f"{bank}/{contract}")
            for i, bank, contract in session.execute(
                select(Loan.id, Loan.bank_code, Loan.contract_no).where(Loan.id.in_(chunk))
            )
        )
    for chunk in chunks(entries):
        _records(session, chunk, found, files, refs)
    repaid = {e: loan for e, loan in refs}
    for chunk in chunks([e for e in entries if e not in found and e not in repaid]):
        found.update(_bare(session, chunk))
    result = {}
    for entry_id, loan_id in postings:
        source = found.get(entry_id)
        if source is None:  # a bank's repayment posted on its own, not from a file
            source = Source("loan", str(repaid[entry_id]), "还款")
        if loan_id is not None and (entry_id in files or entry_id not in found):
            extra = f" · 贷款 {loans.get(loan_id, loan_id)}"
            if refs.get((entry_id, loan_id)):
                extra += f" 流水 {'、'.join(refs[(entry_id, loan_id)])}"
            source = Source(source.kind, source.ref, source.zh + extra)
        result[(entry_id, loan_id)] = source
    return result


def _records(session, chunk, found, files, refs) -> None:
    def put(entry_id, source):
        found.setdefault(entry_id, source)

    for entry_id, import_id, kind, name, bank in session.execute(
        select(
            BankFileImportEntry.entry_id,
            BankFileImport.id,
            BankFileImport.kind,
            BankFileImport.file_name,
            BankFileImport.bank_code,
        )
        .join(BankFileImport, BankFileImport.id == BankFileImportEntry.import_id)
        .where(BankFileImportEntry.entry_id.in_(chunk))
    ):
        files[entry_id] = import_id
        who = f"{bank} " if bank else ""
        put(
            entry_id,
            Source(
                "receipt",
                str(import_id),
                f"银行文件 #{import_id} {who}{FILE_KINDS_ZH.get(kind, kind)} {name}",
            ),
        )
    for entry_id, loan_id, ref in session.execute(
        select(Repayment.entry_id, Repayment.loan_id, Repayment.bank_ref)
        .where(Repayment.entry_id.in_(chunk))
        .order_by(Repayment.id)
    ):
        refs[(entry_id, loan_id)].append(ref)
    for entry_id, i, ref in session.execute(
        select(CapitalAllocation.entry_id, CapitalAllocation.id, CapitalAllocation.reference).where(
            CapitalAllocation.entry_id.in_(chunk)
        )
    ):
        put(entry_id, Source("allocation", str(i), f"资本金拨付 #{i} {ref}".strip()))
    for column, what in ((Claim.approve_entry_id, "审核"), (Claim.pay_entry_id, "支付")):
        for entry_id, number in session.execute(
            select(column, Claim.number).where(column.in_(chunk))
        ):
            put(entry_id, Source("claim", number, f"代偿 {number}（{what}）"))
    for entry_id, i, claim in session.execute(
        select(Recovery.entry_id, Recovery.id, Claim.number)
        .join(Claim, Claim.id == Recovery.claim_id)
        .where(Recovery.entry_id.in_(chunk))
    ):
        put(entry_id, Source("recovery", str(i), f"追偿 #{i}（代偿 {claim}）"))
    for entry_id, i, claim in session.execute(
        select(WriteOff.entry_id, WriteOff.id, Claim.number)
        .join(Claim, Claim.id == WriteOff.claim_id)
        .where(WriteOff.entry_id.in_(chunk))
    ):
        put(entry_id, Source("write-off", str(i), f"核销 #{i}（代偿 {claim}）"))
    for entry_id, i, bank, ref in session.execute(
        select(
            DepositInterest.entry_id, DepositInterest.id, DepositInterest.bank_code,
            DepositInterest.bank_ref,
        ).where(DepositInterest.entry_id.in_(chunk))
    ):  # fmt: skip
        put(entry_id, Source("interest", str(i), f"专户利息 {bank} {ref}"))
    for entry_id, i, ref in session.execute(
        select(GuaranteeFee.entry_id, GuaranteeFee.id, GuaranteeFee.reference).where(
            GuaranteeFee.entry_id.in_(chunk)
        )
    ):
        put(entry_id, Source("fee", str(i), f"担保费 {ref}"))
    for column, what in (
        (CounterGuarantee.entry_id, "登记"),
        (CounterGuarantee.close_entry_id, "解除"),
    ):
        for entry_id, i in session.execute(
            select(column, CounterGuarantee.id).where(column.in_(chunk))
        ):
            put(entry_id, Source("counter-guarantee", str(i), f"反担保 #{i}（{what}）"))
    for entry_id, i, bank, contract in session.execute(
        select(Loan.entry_id, Loan.id, Loan.bank_code, Loan.contract_no).where(
            Loan.entry_id.in_(chunk)
        )
    ):
        put(entry_id, Source("loan", str(i), f"放款 {bank}/{contract}"))


def _bare(session: Session, chunk: list[int]) -> dict[int, Source]:
    """Entries no record keeps: a placement, a withdrawal, a manual entry, a reversal."""
    found = {}
    for entry_id, kind, reverses, actor in session.execute(
        select(
            JournalEntry.id, JournalEntry.kind, JournalEntry.reverses_id, JournalEntry.actor
        ).where(JournalEntry.id.in_(chunk))
    ):
        if reverses is not None:
            found[entry_id] = Source("entry", str(reverses), f"冲销分录 #{reverses}")
        else:
            found[entry_id] = Source("entry", str(entry_id), f"{kind_zh(kind)}（{actor}）")
    return found
