"""Loan-level reconciliation: a bank's loan balances file (贷款余额表) against the fund's
figures as of the file's date."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.bankfiles.models import BankBalanceLine, BankFileImport
from ledger.chart import CITY_FUND
from ledger.fund.models import Loan
from ledger.fund.positions import outstanding_loans
from ledger.fund.reference import Role, require_bank_access
from ledger.fund.schedule import bucket
from ledger.money import format_yuan
from ledger.recon.breaks import WORKERS, Finding, Recorded, open_in_scope, record_breaks
from ledger.recon.errors import ReconError
from ledger.recon.files import mark_reconciled
from ledger.recon.models import Break, BreakType
from ledger.rows import among, chunks


@dataclass(frozen=True)
class BalancesResult:
    import_id: int
    bank: str
    as_of: tuple[dt.date, ...]
    lines: int
    loans: int
    findings: tuple[Finding, ...]
    recorded: Recorded

    def counts(self) -> dict[str, int]:
        by_type: dict[str, int] = defaultdict(int)
        for f in self.findings:
            by_type[f.type] += 1
        return {"lines": self.lines, "loans": self.loans, **by_type, **self.recorded.counts()}


def stored_file(session: Session, import_id: int, kind: str) -> BankFileImport:
    receipt = session.get(BankFileImport, import_id)
    if receipt is None or receipt.kind != kind or receipt.status != "accepted":
        kind_zh = "贷款余额表" if kind == "balances" else "专户对账单"
        raise ReconError(
            f"import {import_id} is not an accepted {kind} file",
            zh=f"第 {import_id} 号导入不是已接收的{kind_zh}",
        )
    return receipt


def reconcile_balances(session: Session, import_id: int, *, actor: str) -> BalancesResult:
    """Compare each line of the balances file ``import_id`` with the fund's loan of that
    contract as of the line's date, and every loan of the bank outstanding then that the
    file lacks; record the differences as breaks (see ``ledger.recon.breaks``)."""
    receipt = stored_file(session, import_id, "balances")
    bank = receipt.bank_code
    require_bank_access(session, actor, bank, *WORKERS, Role.SYSTEM)
    by_date: dict[dt.date, list[tuple]] = defaultdict(list)
    session.flush()
    for line in session.connection().execute(
        select(
            BankBalanceLine.as_of, BankBalanceLine.contract_no,
            BankBalanceLine.principal_outstanding, BankBalanceLine.overdue_principal,
            BankBalanceLine.days_overdue, BankBalanceLine.row,
        ).where(BankBalanceLine.import_id == import_id)
    ):  # fmt: skip
        by_date[line[0]].append(line[1:])
    findings: list[Finding] = []
    loans = 0
    for as_of in sorted(by_date):
        fund = outstanding_loans(session, as_of, bank=bank)
        loans += len(fund)
        findings += _compare(session, bank, as_of, by_date[as_of], fund)
    last = max(by_date) if by_date else receipt.uploaded_at.date()
    scope = open_in_scope(
        session, Break.source == "balances", Break.bank_code == bank, Break.as_of <= last
    )
    recorded = record_breaks(
        session, findings, source="balances", found_on=last, import_id=import_id,
        actor=actor, scope=scope,
    )  # fmt: skip
    mark_reconciled(session, import_id, len(findings), actor=actor)
    return BalancesResult(
        import_id, bank, tuple(sorted(by_date)), sum(map(len, by_date.values())), loans,
        tuple(findings), recorded,
    )  # fmt: skip


def _compare(session, bank: str, as_of: dt.date, lines: list[tuple], fund: dict) -> list[Finding]:
    found: list[Finding] = []
    reported = set()
    unknown = []
    for contract, principal, overdue_p, days, row in lines:
        reported.add(contract)
        mine = fund.get(contract)
        if mine is None:
            if principal:
                unknown.append((contract, principal, row))
            continue
        if principal != mine.principal_outstanding:
            found.append(
                Finding(
                    BreakType.AMOUNT_DIFFERS, bank, mine.fund, contract, as_of,
                    fund_figure=mine.principal_outstanding, bank_figure=principal,
                    loan_id=mine.loan_id, row=row,
                    detail=f"principal outstanding on {as_of}: fund "
                    f"{format_yuan(mine.principal_outstanding)}, bank {format_yuan(principal)}",
                    detail_zh=f"{as_of} 本金余额：基金 {format_yuan(mine.principal_outstanding)}"
                    f" 元，银行 {format_yuan(principal)} 元",
                )
            )  # fmt: skip
        bank_days = days if days is not None else (1 if overdue_p else 0)
        if bucket(bank_days) != mine.bucket:
            found.append(
                Finding(
                    BreakType.STATUS_DIFFERS, bank, mine.fund, contract, as_of,
                    fund_figure=mine.overdue_principal, bank_figure=overdue_p or 0,
                    fund_days=mine.days_overdue, bank_days=bank_days, loan_id=mine.loan_id,
                    row=row,
                    detail=f"days overdue on {as_of}: fund {mine.days_overdue} "
                    f"({mine.bucket}), bank {bank_days} ({bucket(bank_days)})",
                    detail_zh=f"{as_of} 逾期天数：基金 {mine.days_overdue} 天，"
                    f"银行 {bank_days} 天",
                )
            )  # fmt: skip
    for f in fund.values():
        if f.contract_no not in reported:
            found.append(
                Finding(
                    BreakType.MISSING_AT_BANK, bank, f.fund, f.contract_no, as_of,
                    fund_figure=f.principal_outstanding, bank_figure=None, loan_id=f.loan_id,
                    detail=f"loan outstanding in the fund on {as_of} is not in the bank's file",
                    detail_zh=f"基金 {as_of} 在保贷款，银行余额表中没有",
                )
            )  # fmt: skip
    if unknown:
        known: dict[str, tuple[int, str]] = {}
        for chunk in chunks([c for c, _, _ in unknown]):
            for id_, contract, fund_code in session.execute(
                select(Loan.id, Loan.contract_no, Loan.fund_code).where(
                    Loan.bank_code == bank, among(session, Loan.contract_no, chunk)
                )
            ):
                known[contract] = (id_, fund_code)
        for contract, principal, row in unknown:
            loan_id, fund_code = known.get(contract, (None, CITY_FUND))
            if loan_id is None:
                detail = f"the bank reports loan {contract}, which the fund does not have"
                detail_zh = f"银行报送的贷款 {contract} 在基金中不存在"
                kind, fund_figure = BreakType.MISSING_IN_FUND, None
            else:
                detail = f"the bank reports loan {contract} outstanding; the fund has it closed"
                detail_zh = f"银行报送贷款 {contract} 尚有余额，基金记录已结清或已代偿"
                kind, fund_figure = BreakType.AMOUNT_DIFFERS, 0
            found.append(
                Finding(
                    kind, bank, fund_code, contract, as_of, fund_figure=fund_figure,
                    bank_figure=principal, loan_id=loan_id, row=row, detail=detail,
                    detail_zh=detail_zh,
                )
            )  # fmt: skip
    return found
