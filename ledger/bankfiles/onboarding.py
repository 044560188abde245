"""Onboarding existing books: a bureau's history, kept in spreadsheets, taken over as
opening entries on a cut-over date (切换日期).

The workbook (:func:`write_template` writes one) holds the districts, the funds, the
capital sources with what each has contributed, the special accounts' balances per fund
and bank, and every outstanding loan. :func:`read_workbook` checks every cell of it and
refuses it whole, naming each bad cell; :func:`onboard` posts it through the fund's own
operations (so every rule, account and entry is the real one) in the caller's
transaction, and refuses it whole again, naming each row an operation refused.
"""

from __future__ import annotations

import datetime as dt
import zipfile
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger import chart
from ledger.bankfiles import values, workbook
from ledger.bankfiles.reading import MAX_RATIO, MAX_UNCOMPRESSED
from ledger.fund import capital, claims, reference
from ledger.fund.approvals import GuaranteeRequest, approve_guarantees
from ledger.fund.batches import LineError
from ledger.fund.books import balances_as_of, share
from ledger.fund.borrowers import BorrowerSpec, register_borrowers
from ledger.fund.disbursements import DisbursementLine, apply_disbursements
from ledger.fund.eligibility import BORROWER_TYPE_NAMES_ZH, BorrowerType, category_of
from ledger.fund.errors import (
    EligibilityError,
    FundError,
    LeverageCapError,
    RowsRejectedError,
)
from ledger.fund.funds import CITY, FundView, add_fund, pick_fund
from ledger.fund.leverage import principal_outstanding
from ledger.fund.models import Bank, CapitalSource, Claim, District, Fund, Loan
from ledger.fund.policy import rules_on
from ledger.fund.reference import Role, SourceKind, check_maker_checker, require_role
from ledger.fund.repayments import RepaymentLine, apply_repayments
from ledger.fund.schedule import Method, Payment, add_months, build_schedule, position
from ledger.money import format_percent, format_yuan

__all__ = [
    "BadCell",
    "Onboarding",
    "OnboardingRejectedError",
    "OnboardingResult",
    "Totals",
    "onboard",
    "read_workbook",
    "write_template",
]

#: The prefix of each loan's opening repayment reference: ``OPENING-<contract>``.
OPENING_REF = "OPENING-"
#: Contract numbers are at most this long, so that the opening reference fits in 60.
MAX_CONTRACT = 60 - len(OPENING_REF)
#: Rows a sheet may hold (the bureau's whole portfolio, not a bank's daily file).
MAX_ROWS = 200_000

INFO, DISTRICTS, FUNDS, SOURCES, PLACEMENTS, LOANS, NOTES = (
    "基本信息",
    "区县",
    "基金",
    "资金来源",
    "专户存放",
    "在保贷款",
    "说明",
)
CUT_OVER = "切换日期"

#: Each data sheet's columns: (header, required).
COLUMNS: dict[str, tuple[tuple[str, bool], ...]] = {
    DISTRICTS: (("区县代码", True), ("区县名称", True)),
    FUNDS: (
        ("基金代码", True),
        ("基金名称", True),
        ("区县代码", True),
        ("区县名称", True),
        ("设立日期", True),
    ),
    SOURCES: (
        ("来源代码", True),
        ("来源名称", True),
        ("类别", True),
        ("所属区县", False),
        ("担保基金", False),
        ("已到位金额", True),
        ("承诺金额", False),
        ("到位期限", False),
    ),
    PLACEMENTS: (
        ("担保基金", False),
        ("银行代码", True),
        ("银行名称", True),
        ("专户账号", True),
        ("切换日余额", True),
    ),
    LOANS: (
        ("借款人姓名", True),
        ("身份证号", True),
        ("区县", True),
        ("借款人类型", False),
        ("合伙人数", False),
        ("人员类别", True),
        ("经办银行", True),
        ("担保基金", False),
        ("合同号", True),
        ("贷款金额", True),
        ("切换日本金余额", True),
        ("放款日期", True),
        ("到期日期", True),
        ("年利率", True),
        ("还款方式", True),
        ("担保比例", True),
        ("切换日逾期天数", True),
        ("待代偿金额", False),
    ),
}

SOURCE_KINDS = {"省级": "provincial", "市级": "city", "区县": "district", "其他": "other"}
BORROWER_TYPES = {zh: kind for kind, zh in BORROWER_TYPE_NAMES_ZH.items()}


# --------------------------------------------------------------------------- values


@dataclass(frozen=True)
class BadCell:
    """A cell refused: where it is, what it held, and why (in Chinese for the clerk)."""

    sheet: str
    row: int
    column: str
    value: str
    message: str
    zh: str


class OnboardingRejectedError(FundError):
    """An onboarding workbook refused whole: ``cells`` names every bad cell; nothing of it
    was posted (the caller rolls its transaction back)."""

    code = "onboarding-rejected"

    def __init__(self, cells: Iterable[BadCell]):
        self.cells = sorted(cells, key=_cell_order)
        first = self.cells[0]
        more = f" (and {len(self.cells) - 1} more)" if len(self.cells) > 1 else ""
        super().__init__(
            f"{len(self.cells)} cell(s) refused; nothing was posted. {first.sheet} row "
            f"{first.row}, {first.column}: {first.message}{more}",
            zh=f"{len(self.cells)} 处错误，工作簿未入账。{first.sheet} 第 {first.row} 行"
            f"“{first.column}”：{first.zh}",
        )


_SHEET_ORDER = (INFO, DISTRICTS, FUNDS, SOURCES, PLACEMENTS, LOANS)


def _cell_order(cell: BadCell):
    return (_SHEET_ORDER.index(cell.sheet), cell.row, _column_index(cell.sheet, cell.column))


def _column_index(sheet: str, column: str) -> int:
    headers = [h for h, _ in COLUMNS.get(sheet, ())]
    return headers.index(column) if column in headers else -1


@dataclass(frozen=True)
class DistrictRow:
    row: int
    code: str
    name: str


@dataclass(frozen=True)
class FundRow:
    row: int
    code: str
    name: str
    district: str
    district_name: str
    established_on: dt.date


@dataclass(frozen=True)
class SourceRow:
    row: int
    code: str
    name: str
    kind: str
    district: str | None
    fund: str
    #: Contributed to date (fen): posted as one allocation dated the cut-over date.
    contributed: int
    committed: int | None
    due_on: dt.date | None


@dataclass(frozen=True)
class PlacementRow:
    row: int
    fund: str
    bank: str
    bank_name: str
    special_account_no: str
    #: The special account's balance at cut-over (fen).
    balance: int


@dataclass(frozen=True)
class LoanRow:
    row: int
    name: str
    id_number: str
    district: str
    borrower_type: str
    head_count: int
    categories: tuple[str, ...]
    bank: str
    #: The fund named on the row; None: the default rule (:func:`ledger.fund.funds.fund_for`).
    fund_given: str | None
    #: The fund that guarantees it, by the workbook's own funds.
    fund: str
    contract_no: str
    principal: int
    outstanding: int
    disbursed_on: dt.date
    maturity_on: dt.date
    annual_rate_ppm: int
    method: Method
    coverage_ppm: int
    days_overdue: int
    #: Claim filed and pending at cut-over (fen); None: none.
    claim: int | None

    @property
    def exposure(self) -> int:
        """The fund's exposure at cut-over: coverage × principal outstanding, half up."""
        return share(self.outstanding, self.coverage_ppm)


@dataclass(frozen=True)
class Totals:
    """What the books must show after onboarding, all in fen."""

    #: Per capital source: contributed.
    contributed: dict[str, int]
    #: Per (fund, bank): the special account's balance.
    placed: dict[tuple[str, str], int]
    #: Per (fund, bank): the guarantee exposure.
    exposure: dict[tuple[str, str], int]
    #: Per (fund, bank): principal outstanding.
    outstanding: dict[tuple[str, str], int]
    #: Per fund: the treasury (contributed, not placed).
    treasury: dict[str, int]
    loans: int
    #: Claims filed and pending: how many, and their amount.
    claims: int
    claimed: int

    @property
    def principal_outstanding(self) -> int:
        return sum(self.outstanding.values())


@dataclass(frozen=True)
class Onboarding:
    """An onboarding workbook as values, every cell checked."""

    cut_over: dt.date
    districts: tuple[DistrictRow, ...]
    funds: tuple[FundRow, ...]
    sources: tuple[SourceRow, ...]
    placements: tuple[PlacementRow, ...]
    loans: tuple[LoanRow, ...]

    def totals(self) -> Totals:
        """The workbook's own totals: what the books must equal once it is posted."""
        contributed = {s.code: s.contributed for s in self.sources}
        placed = {(p.fund, p.bank): p.balance for p in self.placements}
        exposure: dict[tuple[str, str], int] = defaultdict(int)
        outstanding: dict[tuple[str, str], int] = defaultdict(int)
        for loan in self.loans:
            exposure[(loan.fund, loan.bank)] += loan.exposure
            outstanding[(loan.fund, loan.bank)] += loan.outstanding
        treasury: dict[str, int] = defaultdict(int)
        for s in self.sources:
            treasury[s.fund] += s.contributed
        for p in self.placements:
            treasury[p.fund] -= p.balance
        pending = [loan.claim for loan in self.loans if loan.claim is not None]
        return Totals(
            contributed,
            placed,
            dict(exposure),
            dict(outstanding),
            dict(treasury),
            len(self.loans),
            len(pending),
            sum(pending),
        )


# --------------------------------------------------------------------------- reading


class _Cells:
    """The bad cells found so far, and the parsing of one cell into a value."""

    def __init__(self):
        self.bad: list[BadCell] = []

    def refuse(self, sheet, row, column, value, message, zh) -> None:
        self.bad.append(BadCell(sheet, row, column, values.as_text(value), message, zh))

    def parse(self, sheet: str, row: int, column: str, raw, parser: Callable, blank=None):
        """``parser(raw)``, or ``blank`` for an empty optional cell; a refused cell is
        recorded and gives ``_BAD``."""
        if values.is_blank(raw):
            if blank is _REQUIRED:
                self.refuse(sheet, row, column, raw, f"{column} is required", f"“{column}”不能为空")
                return _BAD
            return blank
        try:
            return parser(raw)
        except values.CellError as error:
            self.refuse(sheet, row, column, raw, error.message, error.zh)
        except FundError as error:
            self.refuse(sheet, row, column, raw, str(error), error.zh or str(error))
        return _BAD


_REQUIRED, _BAD = object(), object()


def read_workbook(path: Path | str, *, today: dt.date | None = None) -> Onboarding:
    """The workbook at ``path`` as values, or :class:`OnboardingRejectedError` naming
    every bad cell. Read as the bank files are: bounded by the cells it holds, its zip
    checked before it is unpacked (:mod:`ledger.bankfiles.workbook`)."""
    from ledger.clock import business_today

    today = today or business_today()
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, EOFError, ValueError, OSError) as error:
        raise workbook.WorkbookDamaged(f"{type(error).__name__}: {error}") from None
    with archive:
        workbook.check_directory(archive, MAX_UNCOMPRESSED, MAX_RATIO)
        cells = _Cells()
        sheets = {name: _records(archive, name, cells) for name in (INFO, *COLUMNS)}
    return _Reader(cells, sheets, today).read()


def _records(archive, name: str, cells: _Cells) -> list[tuple[int, dict]]:
    """A sheet's rows below its header, each a dict of header → raw cell."""
    try:
        rows = workbook.named_rows(archive, name)
        header_row = next(((n, r) for n, r in rows if r), None)
        if header_row is None:
            cells.refuse(name, 1, "", "", f"sheet {name} is empty", f"工作表“{name}”为空")
            return []
        number, header = header_row
        headers = [values.clean(h) if h is not None else "" for h in header]
        wanted = COLUMNS.get(name, (("项目", True), ("内容", True)))
        for column, required in wanted:
            if required and column not in headers:
                cells.refuse(
                    name, number, column, "", f"column {column} is missing", f"缺少列“{column}”"
                )
        out = []
        for n, row in rows:
            if not any(not values.is_blank(v) for v in row):
                continue
            if len(out) >= MAX_ROWS:
                cells.refuse(name, n, "", "", f"over {MAX_ROWS:,} rows", f"超过 {MAX_ROWS:,} 行")
                break
            out.append((n, {h: row[i] if i < len(row) else None for i, h in enumerate(headers)}))
        return out
    except workbook.MissingSheet as missing:
        cells.refuse(name, 0, "", "", str(missing), missing.zh)
        return []


def _code(what: str):
    def parse(raw) -> str:
        text = values.clean(raw)
        reference.check_code(text, what)
        return text

    return parse


def _name(raw) -> str:
    return reference.check_name(values.clean(raw))


def _text(raw) -> str:
    text = values.reference(raw, limit=100)
    if not text:
        raise values.CellError("a value is required", "不能为空")
    return text


def _percent(raw) -> int:
    return values.rate_ppm(raw)


class _Reader:
    def __init__(self, cells: _Cells, sheets: dict, today: dt.date):
        self.cells, self.sheets, self.today = cells, sheets, today

    def cell(self, sheet, n, record, column, parser, blank=_REQUIRED):
        return self.cells.parse(sheet, n, column, record.get(column), parser, blank)

    def read(self) -> Onboarding:
        cut_over = self._cut_over()
        districts = self._districts()
        funds = self._funds(cut_over, districts)
        known_districts = {d.code for d in districts} | {f.district for f in funds}
        fund_codes = {CITY.code} | {f.code for f in funds}
        sources = self._sources(cut_over, known_districts, fund_codes)
        placements = self._placements(fund_codes)
        views = {CITY.code: CITY} | {
            f.code: FundView(f.code, f.name, f.district, f.established_on) for f in funds
        }
        banks = {p.bank for p in placements}
        loans = self._loans(cut_over, known_districts, views, banks)
        if self.cells.bad:
            raise OnboardingRejectedError(self.cells.bad)
        return Onboarding(cut_over, districts, funds, sources, placements, loans)

    def _cut_over(self) -> dt.date | None:
        found = None
        for n, record in self.sheets[INFO]:
            if values.clean(record.get("项目")) != CUT_OVER:
                continue
            found = self.cells.parse(INFO, n, CUT_OVER, record.get("内容"), values.date, _REQUIRED)
            if found is not _BAD and found > self.today:
                self.cells.refuse(
                    INFO,
                    n,
                    CUT_OVER,
                    found,
                    f"cut-over date {found} is in the future",
                    f"切换日期 {found} 晚于今天",
                )
                found = _BAD
        if found is None:
            self.cells.refuse(INFO, 0, CUT_OVER, "", "the cut-over date is missing", "缺少切换日期")
        return None if found is _BAD else found

    def _districts(self) -> tuple[DistrictRow, ...]:
        out, seen = [], set()
        for n, r in self.sheets[DISTRICTS]:
            code = self.cell(DISTRICTS, n, r, "区县代码", _code("district"))
            name = self.cell(DISTRICTS, n, r, "区县名称", _name)
            if code is not _BAD and code in seen:
                self._duplicate(DISTRICTS, n, "区县代码", code)
            elif _BAD not in (code, name):
                seen.add(code)
                out.append(DistrictRow(n, code, name))
        return tuple(out)

    def _funds(self, cut_over, districts) -> tuple[FundRow, ...]:
        out, seen, by_district = [], set(), set()
        for n, r in self.sheets[FUNDS]:
            code = self.cell(FUNDS, n, r, "基金代码", _code("fund"))
            if code == CITY.code:
                self.cells.refuse(
                    FUNDS,
                    n,
                    "基金代码",
                    code,
                    f"{code} is the city-level fund, which is always there",
                    f"{code} 为市本级担保基金，无需填写",
                )
                code = _BAD
            name = self.cell(FUNDS, n, r, "基金名称", _name)
            district = self.cell(FUNDS, n, r, "区县代码", _code("district"))
            district_name = self.cell(FUNDS, n, r, "区县名称", _name)
            established = self.cell(FUNDS, n, r, "设立日期", values.date)
            if established is not _BAD and cut_over and established > cut_over:
                self._after_cut_over(FUNDS, n, "设立日期", established, cut_over)
                established = _BAD
            if code is not _BAD and code in seen:
                self._duplicate(FUNDS, n, "基金代码", code)
                continue
            if district is not _BAD and district in by_district:
                self.cells.refuse(
                    FUNDS,
                    n,
                    "区县代码",
                    district,
                    f"district {district} has one fund only",
                    f"区县 {district} 只能设立一个担保基金",
                )
                continue
            if _BAD not in (code, name, district, district_name, established):
                seen.add(code)
                by_district.add(district)
                out.append(FundRow(n, code, name, district, district_name, established))
        return tuple(out)

    def _sources(self, cut_over, districts, funds) -> tuple[SourceRow, ...]:
        out, seen = [], set()
        for n, r in self.sheets[SOURCES]:
            code = self.cell(SOURCES, n, r, "来源代码", _text)
            name = self.cell(SOURCES, n, r, "来源名称", _name)
            kind = self.cell(SOURCES, n, r, "类别", self._choice(SOURCE_KINDS))
            district = self.cell(
                SOURCES, n, r, "所属区县", self._known(districts, "district"), None
            )
            fund = self.cell(SOURCES, n, r, "担保基金", self._known(funds, "fund"), CITY.code)
            contributed = self.cell(SOURCES, n, r, "已到位金额", values.amount)
            committed = self.cell(SOURCES, n, r, "承诺金额", values.amount, None)
            due = self.cell(SOURCES, n, r, "到位期限", values.date, None)
            if (
                kind is not _BAD
                and district is not _BAD
                and (kind == "district") != (district is not None)
            ):
                self.cells.refuse(
                    SOURCES,
                    n,
                    "所属区县",
                    district or "",
                    "a district matching source names its district, and only it does",
                    "区县配套资金必须且只能由区县配套来源填写所属区县",
                )
                district = _BAD
            if code is not _BAD and code in seen:
                self._duplicate(SOURCES, n, "来源代码", code)
                continue
            if _BAD not in (code, name, kind, district, fund, contributed, committed, due):
                seen.add(code)
                out.append(
                    SourceRow(n, code, name, kind, district, fund, contributed, committed, due)
                )
        return tuple(out)

    def _placements(self, funds) -> tuple[PlacementRow, ...]:
        out, seen = [], set()
        for n, r in self.sheets[PLACEMENTS]:
            fund = self.cell(PLACEMENTS, n, r, "担保基金", self._known(funds, "fund"), CITY.code)
            bank = self.cell(PLACEMENTS, n, r, "银行代码", _code("bank"))
            bank_name = self.cell(PLACEMENTS, n, r, "银行名称", _name)
            account = self.cell(PLACEMENTS, n, r, "专户账号", _text)
            balance = self.cell(PLACEMENTS, n, r, "切换日余额", values.amount)
            if (fund, bank) in seen:
                self._duplicate(PLACEMENTS, n, "银行代码", bank)
                continue
            if _BAD not in (fund, bank, bank_name, account, balance):
                seen.add((fund, bank))
                out.append(PlacementRow(n, fund, bank, bank_name, account, balance))
        return tuple(out)

    def _loans(self, cut_over, districts, funds: dict[str, FundView], banks) -> tuple:
        out, contracts, people = [], set(), {}
        for n, r in self.sheets[LOANS]:
            loan = self._loan(n, r, cut_over, districts, funds, banks)
            if loan is None:
                continue
            if (loan.bank, loan.contract_no) in contracts:
                self._duplicate(LOANS, n, "合同号", loan.contract_no)
                continue
            if loan.id_number in people:
                self.cells.refuse(
                    LOANS,
                    n,
                    "身份证号",
                    loan.id_number,
                    f"the borrower has another outstanding loan on row {people[loan.id_number]}",
                    f"该借款人在第 {people[loan.id_number]} 行已有在保贷款，每人同时只能有一笔",
                )
                continue
            contracts.add((loan.bank, loan.contract_no))
            people[loan.id_number] = n
            out.append(loan)
        return tuple(out)

    def _loan(self, n, r, cut_over, districts, funds, banks) -> LoanRow | None:
        def cell(column, parser, blank=_REQUIRED):
            return self.cell(LOANS, n, r, column, parser, blank)

        name = cell("借款人姓名", _name)
        number = cell("身份证号", lambda v: values.id_number(v, self.today))
        district = cell("区县", self._known(districts, "district"))
        kind = cell("借款人类型", self._choice(BORROWER_TYPES), BorrowerType.individual.value)
        heads = cell("合伙人数", values.count, 1)
        categories = cell("人员类别", _categories)
        bank = cell("经办银行", self._known(banks, "bank"))
        fund_given = cell("担保基金", self._known(set(funds), "fund"), None)
        contract = cell("合同号", _contract)
        principal = cell("贷款金额", _positive)
        outstanding = cell("切换日本金余额", _positive)
        disbursed = cell("放款日期", values.date)
        maturity = cell("到期日期", values.date)
        rate = cell("年利率", values.rate_ppm)
        method = cell("还款方式", values.method)
        coverage = cell("担保比例", _percent)
        days = cell("切换日逾期天数", values.count)
        claim = cell("待代偿金额", _positive, None)
        if _BAD not in (principal, outstanding) and outstanding > principal:
            self.cells.refuse(
                LOANS,
                n,
                "切换日本金余额",
                r.get("切换日本金余额"),
                f"principal outstanding {format_yuan(outstanding)} yuan is more "
                f"than the loan's {format_yuan(principal)} yuan",
                f"本金余额 {format_yuan(outstanding)} 元大于贷款金额 {format_yuan(principal)} 元",
            )
            outstanding = _BAD
        if disbursed is not _BAD and cut_over and disbursed > cut_over:
            self._after_cut_over(LOANS, n, "放款日期", disbursed, cut_over)
            disbursed = _BAD
        if _BAD not in (disbursed, maturity) and maturity <= disbursed:
            self.cells.refuse(
                LOANS,
                n,
                "到期日期",
                maturity,
                f"maturity {maturity} is not after the disbursement date {disbursed}",
                f"到期日期 {maturity} 须晚于放款日期 {disbursed}",
            )
            maturity = _BAD
        if coverage is not _BAD and not 0 < coverage <= 1_000_000:
            self.cells.refuse(
                LOANS,
                n,
                "担保比例",
                r.get("担保比例"),
                "coverage is more than 0% and at most 100%",
                "担保比例应大于 0 且不超过 100%",
            )
            coverage = _BAD
        fund = _BAD
        if _BAD not in (district, fund_given, disbursed):
            try:
                fund = pick_fund(funds, district, disbursed, fund_given).code
            except FundError as error:
                self.cells.refuse(LOANS, n, "担保基金", fund_given or "", str(error), error.zh)
        fields = (
            name,
            number,
            district,
            kind,
            heads,
            categories,
            bank,
            fund,
            contract,
            principal,
            outstanding,
            disbursed,
            maturity,
            rate,
            method,
            coverage,
            days,
            claim,
        )
        if _BAD in fields or cut_over is None:
            return None
        return LoanRow(
            n,
            name,
            number,
            district,
            kind,
            heads,
            categories,
            bank,
            fund_given,
            fund,
            contract,
            principal,
            outstanding,
            disbursed,
            maturity,
            rate,
            method,
            coverage,
            days,
            claim,
        )

    def _choice(self, choices: dict[str, str]):
        def parse(raw) -> str:
            text = values.clean(raw)
            found = choices.get(text) or (text if text in choices.values() else None)
            if found is None:
                raise values.CellError(
                    f"{text!r} is not one of {', '.join(choices)}",
                    f"“{text}”无效，应为：{'、'.join(choices)}",
                )
            return found

        return parse

    def _known(self, known: set[str], what: str):
        """A code the workbook itself lists: a district on the 区县 or 基金 sheet, a fund
        on the 基金 sheet (or CITY), a bank on the 专户存放 sheet."""
        where, where_zh = _LISTED[what]

        def parse(raw) -> str:
            text = values.clean(raw)
            if text not in known:
                raise values.CellError(
                    f"{what} {text} is not listed {where}", f"{_WHAT_ZH[what]} {text} {where_zh}"
                )
            return text

        return parse

    def _duplicate(self, sheet, n, column, value) -> None:
        self.cells.refuse(sheet, n, column, value, f"{value} is listed twice", f"{value} 重复")

    def _after_cut_over(self, sheet, n, column, value, cut_over) -> None:
        self.cells.refuse(
            sheet,
            n,
            column,
            value,
            f"{value} is after the cut-over date {cut_over}",
            f"{value} 晚于切换日期 {cut_over}",
        )


_LISTED = {
    "district": ("on the sheets 区县 or 基金", "不在“区县”或“基金”表中"),
    "fund": ("on the sheet 基金 (nor is it CITY)", "不存在：既不是 CITY，也不在“基金”表中"),
    "bank": ("on the sheet 专户存放", "不在“专户存放”表中"),
}
_WHAT_ZH = {"district": "区县", "fund": "担保基金", "bank": "经办银行"}


def _positive(raw) -> int:
    fen = values.amount(raw)
    if fen <= 0:
        raise values.CellError("the amount must be more than 0", "金额必须大于 0")
    return fen


def _contract(raw) -> str:
    text = values.reference(raw, limit=MAX_CONTRACT)
    if not text:
        raise values.CellError("a contract number is required", "合同号不能为空")
    return text


def _categories(raw) -> tuple[str, ...]:
    items = [i.strip() for i in values.clean(raw).replace("，", ",").replace("、", ",").split(",")]
    try:
        return tuple(sorted({category_of(i).value for i in items if i}))
    except EligibilityError as error:
        raise values.CellError(str(error), error.zh or str(error)) from None


# --------------------------------------------------------------------------- posting


@dataclass(frozen=True)
class OnboardingResult:
    """What the books show after onboarding, read back from them (all in fen), beside
    the workbook's own figures."""

    cut_over: dt.date
    books: Totals
    workbook: Totals

    @property
    def matches(self) -> bool:
        return self.books == self.workbook


@dataclass
class _Posting:
    """The rows each operation refused, as bad cells; later steps skip those rows."""

    cells: list[BadCell] = field(default_factory=list)
    failed: set[int] = field(default_factory=set)
    #: The loans sheet's rows, by row number.
    loans: dict[int, LoanRow] = field(default_factory=dict)

    def refuse(self, sheet, row, column, value, error: FundError) -> None:
        self.cells.append(
            BadCell(sheet, row, column, values.as_text(value), str(error), error.zh or str(error))
        )
        if sheet == LOANS:
            self.failed.add(row)


#: Per batch operation, its columns as the loans sheet's headers.
_LOAN_COLUMNS = {
    "id_number": "身份证号",
    "name": "借款人姓名",
    "district": "区县",
    "borrower_type": "借款人类型",
    "head_count": "合伙人数",
    "categories": "人员类别",
    "bank": "经办银行",
    "amount": "贷款金额",
    "term_months": "到期日期",
    "on": "放款日期",
    "counter_guarantees": "贷款金额",
    "fund": "担保基金",
    "contract_no": "合同号",
    "guarantee_no": "合同号",
    "borrower_name": "借款人姓名",
    "disbursed_on": "放款日期",
    "maturity_on": "到期日期",
    "principal": "贷款金额",
    "annual_rate": "年利率",
    "repayment_method": "还款方式",
    "bank_ref": "合同号",
    "paid_on": "切换日本金余额",
    "interest": "切换日逾期天数",
    "penalty": "切换日本金余额",
    "balance_after": "切换日本金余额",
    "reversal_of": "合同号",
}


def onboard(
    session: Session,
    book: Onboarding,
    *,
    actor: str,
    approver: str,
    today: dt.date | None = None,
) -> OnboardingResult:
    """Post ``book`` as the opening entries of its cut-over date, all or nothing.

    ``actor`` records it (the admin and clerk roles: reference data, allocations,
    placements, borrowers, loans, claims); ``approver``, another person, approves the
    allocations and the guarantees. Every step is the fund's own operation; a row any of
    them refuses is named (sheet, row, column) and, after every row has been tried,
    :class:`OnboardingRejectedError` carries them all — the caller rolls back.
    """
    require_role(session, actor, Role.ADMIN)
    require_role(session, actor, Role.CLERK)
    require_role(session, approver, Role.APPROVER)
    check_maker_checker(actor, approver, "this onboarding", "本次期初数据导入")
    on, post = book.cut_over, _Posting(loans={x.row: x for x in book.loans})
    _reference_data(session, book, actor, post)
    if not post.cells:
        _capital(session, book, actor, approver, today, post)
    if not post.cells:
        _loans(session, book, actor, approver, today, post)
    if post.cells:
        raise OnboardingRejectedError(post.cells)
    return OnboardingResult(on, books_totals(session, book), book.totals())


def _reference_data(session: Session, book: Onboarding, actor: str, post: _Posting) -> None:
    def attempt(sheet, row, column, value, work):
        try:
            work()
        except FundError as error:
            post.refuse(sheet, row, column, value, error)

    have = set(session.scalars(select(District.code)))
    for d in book.districts:
        if d.code not in have:
            have.add(d.code)
            attempt(
                DISTRICTS,
                d.row,
                "区县代码",
                d.code,
                lambda d=d: reference.add_district(session, d.code, d.name, actor=actor),
            )
    for f in book.funds:
        if f.district not in have:
            have.add(f.district)
            attempt(
                FUNDS,
                f.row,
                "区县代码",
                f.district,
                lambda f=f: reference.add_district(
                    session, f.district, f.district_name, actor=actor
                ),
            )
    banks = set(session.scalars(select(Bank.code)))
    for p in book.placements:
        if p.bank not in banks:
            banks.add(p.bank)
            attempt(
                PLACEMENTS,
                p.row,
                "银行代码",
                p.bank,
                lambda p=p: reference.add_bank(
                    session, p.bank, p.bank_name, p.special_account_no, actor=actor
                ),
            )
    funds = set(session.scalars(select(Fund.code)))
    for f in book.funds:
        if f.code not in funds:
            attempt(
                FUNDS,
                f.row,
                "基金代码",
                f.code,
                lambda f=f: add_fund(
                    session, f.code, f.name, f.district, f.established_on, actor=actor
                ),
            )
    sources = set(session.scalars(select(CapitalSource.code)))
    for s in book.sources:
        if s.code in sources:
            post.refuse(
                SOURCES,
                s.row,
                "来源代码",
                s.code,
                FundError(
                    f"capital source {s.code} is already in the books",
                    zh=f"资金来源 {s.code} 已存在",
                ),
            )
            continue
        attempt(
            SOURCES,
            s.row,
            "来源代码",
            s.code,
            lambda s=s: reference.add_capital_source(
                session,
                s.code,
                s.name,
                SourceKind(s.kind),
                actor=actor,
                district=s.district,
                committed=s.committed,
                due_on=s.due_on,
                fund=s.fund,
            ),
        )


def _capital(session, book: Onboarding, actor, approver, today, post: _Posting) -> None:
    """Each source's money as one allocation, recorded and approved, dated the cut-over
    date; then each fund's special accounts filled from its treasury."""
    on = book.cut_over
    for s in book.sources:
        if not s.contributed:
            continue
        try:
            a = capital.record_allocation(
                session,
                s.code,
                s.contributed,
                on,
                actor=actor,
                reference="期初",
                note="期初数据导入",
                today=today,
            )
            capital.approve_allocation(session, a.id, actor=approver, today=today)
        except FundError as error:
            post.refuse(SOURCES, s.row, "已到位金额", s.contributed, error)
    for p in book.placements:
        if not p.balance:
            continue
        try:
            capital.place_capital(
                session, p.bank, p.balance, on, actor=actor, today=today, fund=p.fund
            )
        except FundError as error:
            post.refuse(PLACEMENTS, p.row, "切换日余额", p.balance, error)


def _loans(session, book: Onboarding, actor, approver, today, post: _Posting) -> None:
    on = book.cut_over
    loans = list(book.loans)
    _check_loans(session, book, post)
    specs = [
        BorrowerSpec(
            x.id_number, x.name, x.district, x.borrower_type, x.categories, x.head_count, x.row
        )
        for x in loans
        if x.row not in post.failed
    ]
    _batch(
        post,
        specs,
        lambda rows: register_borrowers(session, rows, actor=actor, today=today),
    )
    requests = [
        GuaranteeRequest(
            x.id_number, x.bank, x.principal, _term(x), x.disbursed_on, (), x.row, x.fund_given
        )
        for x in loans
        if x.row not in post.failed
    ]
    requests, approved = _batch(
        post,
        requests,
        lambda rows: approve_guarantees(session, rows, actor=approver, today=today),
    )
    numbers = {r.row: a.number for r, a in zip(requests, approved or (), strict=True)}
    by_bank: dict[str, list[LoanRow]] = defaultdict(list)
    for x in loans:
        if x.row not in post.failed and x.row in numbers:
            by_bank[x.bank].append(x)
    for bank, rows in sorted(by_bank.items()):
        lines = [
            DisbursementLine(
                x.contract_no,
                numbers[x.row],
                x.name,
                x.id_number,
                x.disbursed_on,
                x.maturity_on,
                x.principal,
                x.annual_rate_ppm,
                x.method,
                x.row,
                x.outstanding,
            )
            for x in rows
        ]
        _batch(
            post,
            lines,
            lambda rows, bank=bank: apply_disbursements(
                session, bank=bank, lines=rows, actor=actor, today=today, booked_on=on
            ),
        )
    for bank, rows in sorted(by_bank.items()):
        lines = [_opening_repayment(x, on) for x in rows if x.row not in post.failed]
        lines = [line for line in lines if line is not None]
        _batch(
            post,
            lines,
            lambda rows, bank=bank: apply_repayments(
                session, bank=bank, lines=rows, actor=actor, today=today
            ),
        )
    for x in loans:
        if x.claim is None or x.row in post.failed:
            continue
        try:
            claim = claims.file_claim(
                session, bank=x.bank, contract_no=x.contract_no, on=on, actor=actor, today=today
            )
        except FundError as error:
            post.refuse(LOANS, x.row, "待代偿金额", x.claim, error)
            continue
        if claim.amount != x.claim:
            post.refuse(
                LOANS,
                x.row,
                "待代偿金额",
                x.claim,
                FundError(
                    f"the claim works out at {format_yuan(claim.amount)} yuan, not "
                    f"{format_yuan(x.claim)}",
                    zh=f"按贷款计算的代偿金额为 {format_yuan(claim.amount)} 元，与填写的 "
                    f"{format_yuan(x.claim)} 元不符",
                ),
            )


def _batch(post: _Posting, rows: list, work: Callable) -> tuple[list, object]:
    """Run a batch operation over ``rows``; the rows it refuses become bad cells and it
    runs again over the others, until it passes (or no row is left). Returns the rows it
    posted and what it returned."""
    while rows:
        try:
            return rows, work(rows)
        except RowsRejectedError as rejected:
            for e in rejected.errors:
                _refuse_line(post, e)
            refused = {e.row for e in rejected.errors}
            rows = [r for r in rows if r.row not in refused]
    return [], None


def _refuse_line(post: _Posting, e: LineError) -> None:
    """A batch's refused line as the loans sheet's cell. The leverage cap counts what a
    loan has outstanding at cut-over: that is its cell."""
    column, value = _LOAN_COLUMNS.get(e.column, "合同号"), e.value
    if isinstance(e.error, LeverageCapError):
        column, value = "切换日本金余额", str(post.loans[e.row].outstanding)
    if column in ("贷款金额", "切换日本金余额") and value.isdigit():
        value = _yuan_text(int(value))
    post.refuse(LOANS, e.row, column, value, e.error)


def _yuan_text(fen: int) -> str:
    """Fen as the workbook writes yuan: 1234.50."""
    return f"{fen // 100}.{fen % 100:02d}"


def _check_loans(session, book: Onboarding, post: _Posting) -> None:
    """What the rows must agree on with the rules and the schedule before anything of
    them is posted: the coverage recorded is the rules' of the disbursement date, and the
    days overdue at cut-over are those the loan's schedule gives."""
    rules: dict[dt.date, dict] = {}
    for x in book.loans:
        if x.disbursed_on not in rules:
            rules[x.disbursed_on] = rules_on(session, x.disbursed_on)
        coverage = rules[x.disbursed_on]["coverage_ppm"]
        if coverage != x.coverage_ppm:
            post.refuse(
                LOANS,
                x.row,
                "担保比例",
                format_percent(x.coverage_ppm),
                FundError(
                    f"coverage {format_percent(x.coverage_ppm)} is not the "
                    f"{format_percent(coverage)} of the rules in force on {x.disbursed_on}",
                    zh=f"担保比例 {format_percent(x.coverage_ppm)} 与 {x.disbursed_on} 适用政策的 "
                    f"{format_percent(coverage)} 不符",
                ),
            )
            continue
        try:
            computed = _opening_position(x, book.cut_over).days_overdue
        except ValueError as error:
            post.refuse(
                LOANS,
                x.row,
                "到期日期",
                x.maturity_on,
                FundError(str(error), zh=f"还款计划无法生成：{error}"),
            )
            continue
        if computed != x.days_overdue:
            post.refuse(
                LOANS,
                x.row,
                "切换日逾期天数",
                x.days_overdue,
                FundError(
                    f"by the loan's schedule and principal outstanding it is {computed} days "
                    f"overdue on {book.cut_over}, not {x.days_overdue}",
                    zh=f"按还款计划和本金余额计算，{book.cut_over} 逾期 {computed} 天，"
                    f"与填写的 {x.days_overdue} 天不符",
                ),
            )


def _opening_interest(x: LoanRow, cut_over: dt.date) -> int:
    """Interest taken as paid by the cut-over date: that of every installment due before
    the loan fell overdue (of every one due by then, for a loan not overdue)."""
    schedule = build_schedule(
        x.principal, x.annual_rate_ppm, x.method, x.disbursed_on, x.maturity_on
    )
    if x.days_overdue:
        since = cut_over - dt.timedelta(days=x.days_overdue)
        return sum(i.interest for i in schedule if i.due_on < since)
    return sum(i.interest for i in schedule if i.due_on <= cut_over)


def _opening_position(x: LoanRow, cut_over: dt.date):
    schedule = build_schedule(
        x.principal, x.annual_rate_ppm, x.method, x.disbursed_on, x.maturity_on
    )
    paid = Payment(cut_over, x.principal - x.outstanding, _opening_interest(x, cut_over))
    return position(schedule, [paid], cut_over)


def _opening_repayment(x: LoanRow, cut_over: dt.date) -> RepaymentLine | None:
    """What was repaid before cut-over, as one repayment dated the cut-over date."""
    principal, interest = x.principal - x.outstanding, _opening_interest(x, cut_over)
    if not principal and not interest:
        return None
    return RepaymentLine(
        f"{OPENING_REF}{x.contract_no}",
        x.contract_no,
        cut_over,
        principal,
        interest,
        0,
        x.id_number,
        x.outstanding,
        None,
        x.row,
    )


def _term(x: LoanRow) -> int:
    """The whole months from disbursement that reach the maturity date."""
    months = 1
    while add_months(x.disbursed_on, months) < x.maturity_on and months < 1200:
        months += 1
    return months


def books_totals(session: Session, book: Onboarding) -> Totals:
    """The figures of :class:`Totals` read from the books as of the cut-over date, for
    the sources, funds and banks the workbook names."""
    on = book.cut_over
    codes = [chart.capital_account(s.code) for s in book.sources]
    pairs = sorted(
        {(p.fund, p.bank) for p in book.placements} | {(x.fund, x.bank) for x in book.loans}
    )
    codes += [chart.special_account(bank, fund) for fund, bank in pairs]
    codes += [chart.exposure_contra_account(bank, fund) for fund, bank in pairs]
    fund_codes = sorted({s.fund for s in book.sources} | {p.fund for p in book.placements})
    codes += [chart.treasury_account(f) for f in fund_codes]
    b = balances_as_of(session, codes, on)
    contracts = {(x.bank, x.contract_no) for x in book.loans}
    loan_ids = [
        i
        for bank, contract, i in session.execute(select(Loan.bank_code, Loan.contract_no, Loan.id))
        if (bank, contract) in contracts
    ]
    pending = (
        list(
            session.scalars(
                select(Claim.amount).where(Claim.status == "filed", Claim.loan_id.in_(loan_ids))
            )
        )
        if loan_ids
        else []
    )
    return Totals(
        {s.code: b[chart.capital_account(s.code)] for s in book.sources},
        {(p.fund, p.bank): b[chart.special_account(p.bank, p.fund)] for p in book.placements},
        {
            (f, bank): b[chart.exposure_contra_account(bank, f)]
            for f, bank in pairs
            if any((x.fund, x.bank) == (f, bank) for x in book.loans)
        },
        {
            (f, bank): principal_outstanding(session, bank, on, f)
            for f, bank in pairs
            if any((x.fund, x.bank) == (f, bank) for x in book.loans)
        },
        {f: b[chart.treasury_account(f)] for f in fund_codes},
        len(loan_ids),
        len(pending),
        sum(pending),
    )


# --------------------------------------------------------------------------- template


_EXAMPLE = {
    DISTRICTS: [("D02", "城西区")],
    FUNDS: [("D01", "城东区担保基金", "D01", "城东区", dt.date(2023, 1, 6))],
    SOURCES: [
        ("provincial", "省级拨付", "省级", None, None, "3000000.00", None, None),
        (
            "D01-own",
            "城东区配套",
            "区县",
            "D01",
            "D01",
            "1000000.00",
            "1000000.00",
            dt.date(2023, 6, 30),
        ),
    ],
    PLACEMENTS: [
        (None, "ICBC", "工商银行", "1202020129900012345", "2000000.00"),
        ("D01", "ICBC", "工商银行", "1202020129900012345", "800000.00"),
    ],
    LOANS: [
        (
            "张三",
            "110105199005170118",
            "D02",
            "个人",
            None,
            "登记失业人员",
            "ICBC",
            None,
            "ICBC-2024-0001",
            "100000.00",
            "60000.00",
            dt.date(2024, 3, 15),
            dt.date(2027, 3, 15),
            "3.95",
            "按月付息到期还本",
            "80",
            0,
            None,
        ),
    ],
}

_NOTES = (
    ("说明", "本工作簿用于把原有台账一次性导入 fundledger，作为切换日期的期初数据。"),
    ("基本信息", "填写切换日期：所有期初分录均记在该日；切换日期不得晚于今天。"),
    ("区县", "没有设立本级担保基金的区县（借款人、配套资金所在区县）。"),
    ("基金", "区县自设的担保基金；市本级担保基金（CITY）无需填写。"),
    (
        "资金来源",
        "类别为 省级/市级/区县/其他；区县配套须填所属区县；担保基金留空为市本级。"
        "已到位金额记为切换日一笔资金拨付，由经办录入、审核人审核。",
    ),
    ("专户存放", "每个担保基金在每家经办银行的专户余额；合计不得超过该基金已到位资金。"),
    (
        "在保贷款",
        "每笔在保贷款一行；身份证号请设为文本格式；担保基金留空按借款人所在区县确定；"
        "担保比例须与放款日适用政策一致；切换日前已还本金记为切换日一笔期初还款"
        "（流水号 OPENING-合同号）；逾期天数须与还款计划相符；待代偿金额留空表示没有。",
    ),
    ("金额", "金额以元为单位，最多两位小数；日期如 2024-03-05。"),
)


def write_template(path: Path | str) -> None:
    """Write the onboarding workbook's template: each sheet with its Chinese headers and
    one example row, and the 说明 (instructions) sheet."""
    from openpyxl import Workbook

    wb = Workbook()
    info = wb.active
    info.title = INFO
    info.append(["项目", "内容"])
    info.append([CUT_OVER, dt.date(2025, 12, 31)])
    for sheet, columns in COLUMNS.items():
        ws = wb.create_sheet(sheet)
        ws.append([h for h, _ in columns])
        for row in _EXAMPLE[sheet]:
            ws.append(list(row))
        for n, (header, _) in enumerate(columns, 1):
            if header in ("身份证号", "专户账号", "合同号"):
                for cell in ws.iter_cols(min_col=n, max_col=n, min_row=2, max_row=1000):
                    for c in cell:
                        c.number_format = "@"
    notes = wb.create_sheet(NOTES)
    for row in _NOTES:
        notes.append(list(row))
    wb.save(path)
