"""The file kinds: the four of the bank interface (v1) and the bureau's two lists (borrowers
to register, guarantees to approve); their columns and how a row reads.

A :class:`Kind` lists its columns (field, Chinese header, English header, required,
parser). :meth:`Kind.header` maps a header row to column positions (Chinese or English,
any case, any order, unknown columns ignored) and a :meth:`Kind.reader` turns each data row
into a dict of values or a list of cell errors. The errors name the column by its
English header, as the bank's IT staff know it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, replace

from ledger.bankfiles import values
from ledger.bankfiles.reading import FileRejected, Uncomputed

KINDS_ZH = {
    "disbursement": "放款明细",
    "repayment": "还款明细",
    "balances": "贷款余额表",
    "statement": "专户对账单",
    "borrowers": "借款人名单",
    "guarantees": "承诺担保名单",
}


@dataclass(frozen=True)
class Column:
    field: str
    zh: str
    en: str
    required: bool
    #: Parses a non-blank cell; ``today`` is passed to the parsers that need it.
    parse: Callable
    #: An amount column: the receipt totals it.
    money: bool = False
    #: A date that may not be after the business date (``today``).
    no_future: bool = False
    #: Remember what each text reads as (not for a column of unique values).
    cached: bool = True


@dataclass(frozen=True)
class CellProblem:
    """A cell that cannot be read: column (English header), value as given, messages."""

    column: str
    value: str
    code: str
    message: str
    zh: str


def _text(limit: int) -> Callable:
    return lambda value, today: values.reference(value, limit=limit)


def _plain(parser: Callable) -> Callable:
    return lambda value, today: parser(value)


_AMOUNT = _plain(values.amount)
_DATE = _plain(values.date)


def _id(value, today):
    return values.id_number(value, today)


def _id_as_given(value, today):
    return values.id_number_as_given(value, today)


class Kind:
    def __init__(self, name: str, columns: tuple[Column, ...], *, bureau: bool = False):
        self.name, self.columns = name, columns
        #: The bureau's own list, not a partner bank's file: it has no bank.
        self.bureau = bureau
        self.zh = KINDS_ZH[name]
        self.money = tuple(c.field for c in columns if c.money)
        self.fields = tuple(c.field for c in columns)
        self._by_header = {}
        for column in columns:
            self._by_header[_header_key(column.zh)] = column
            self._by_header[_header_key(column.en)] = column

    def header(self, cells: tuple) -> list[tuple[int, Column]]:
        """Positions of this kind's columns in the header row, or FileRejected."""
        found: dict[str, int] = {}
        for position, cell in enumerate(cells):
            column = self._by_header.get(_header_key(values.as_text(cell)))
            if column is None:
                continue
            if column.field in found:
                raise FileRejected(
                    f"the header names column {column.en} ({column.zh}) twice",
                    zh=f"表头中“{column.zh}（{column.en}）”列出现了两次",
                )
            found[column.field] = position
        missing = [c for c in self.columns if c.required and c.field not in found]
        if missing:
            if not found:
                raise FileRejected(
                    f"the first row is not a {self.name} file's header: none of its "
                    f"columns is there (expected e.g. {self.columns[0].en} or "
                    f"{self.columns[0].zh})",
                    zh=f"第 1 行不是{self.zh}的表头：没有找到任何规定的列（例如"
                    f"“{self.columns[0].zh}”或 {self.columns[0].en}），请确认文件类型",
                )
            raise FileRejected(
                "the header lacks required column(s): "
                + ", ".join(f"{c.en} ({c.zh})" for c in missing),
                zh="表头缺少必填列：" + "、".join(f"{c.zh}（{c.en}）" for c in missing),
            )
        return [(found[c.field], c) for c in self.columns if c.field in found]

    def reader(
        self, positions: list[tuple[int, Column]], today: dt.date
    ) -> Callable[[tuple], tuple[dict, list[CellProblem]]]:
        """A function reading one data row's cells into ``(values, cell problems)``.

        What a text cell reads as is remembered per column (a file repeats its dates,
        amounts, contracts and ID numbers), up to :data:`CACHE_SIZE` values a column.
        """
        # (position, field, its memo or None, column), looked up once, not for every cell.
        plan = [
            (position, column.field, {} if column.cached else None, column)
            for position, column in positions
        ]
        fields, read_cell = self.fields, _read_cell

        def read(cells: tuple) -> tuple[dict, list[CellProblem]]:
            record, problems = dict.fromkeys(fields), []
            count = len(cells)
            for position, field, memo, column in plan:
                raw = cells[position] if position < count else None
                if memo is not None and raw.__class__ is str:
                    outcome = memo.get(raw)
                    if outcome is None:
                        if len(memo) >= CACHE_SIZE:
                            memo.clear()
                        outcome = memo[raw] = read_cell(column, raw, today)
                else:
                    outcome = read_cell(column, raw, today)
                if outcome.__class__ is tuple:
                    record[field] = outcome[0]
                else:
                    problems.append(outcome)
            return record, problems

        return read

    def raw(self, positions: list[tuple[int, Column]], cells: tuple) -> dict[str, str]:
        """The row's cells as given, by field: for the error report."""
        return {
            column.field: values.as_text(cells[position] if position < len(cells) else None)
            for position, column in positions
        }


#: Text values remembered per column while a file is read.
CACHE_SIZE = 50_000


def _read_cell(column: Column, raw, today: dt.date) -> tuple | CellProblem:
    """``(value,)`` (None for a blank optional cell), or the cell's problem."""
    if isinstance(raw, Uncomputed):
        return CellProblem(
            column.en, str(raw), "uncomputed-formula",
            f"formula {raw} has no computed value; open the workbook in Excel, "
            "save it and upload it again",
            f"公式 {raw} 没有计算结果，请在 Excel 中打开并保存后重新上传",
        )  # fmt: skip
    if values.is_blank(raw):
        if column.required:
            return CellProblem(
                column.en, "", "required",
                f"{column.en} is required", f"“{column.zh}”为必填项，不能为空",
            )  # fmt: skip
        return (None,)
    try:
        value = column.parse(raw, today)
        if column.no_future and value > today:
            raise values.CellError(
                f"{column.en} {value} is in the future (today is {today})",
                f"{column.zh} {value} 晚于今天（{today}）",
            )
    except values.CellError as error:
        return CellProblem(column.en, values.as_text(raw), error.code, error.message, error.zh)
    return (value,)


def _header_key(text: str) -> str:
    return values.clean(text).replace(" ", "").casefold()


def _c(field, zh, en, required, parse, money=False, no_future=False) -> Column:
    return Column(field, zh, en, required, parse, money, no_future)


def _f(field, zh, required, parse, money=False, no_future=False) -> Column:
    """A column whose English header is its field's name."""
    return Column(field, zh, field, required, parse, money, no_future)


REF = _text(60)

KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        Kind(
            "disbursement",
            (
                _c("contract_no", "贷款合同号", "contract_no", True, REF),
                _c("guarantee_no", "担保承诺号", "guarantee_no", True, _text(40)),
                _c("borrower_name", "借款人姓名", "borrower_name", True, _text(100)),
                _c("id_number", "身份证号", "id_number", True, _id),
                _c("disbursed_on", "放款日期", "disbursed_on", True, _DATE, no_future=True),
                _c("maturity_on", "到期日期", "maturity_on", True, _DATE),
                _c("principal", "放款金额", "principal", True, _AMOUNT, money=True),
                _c("annual_rate", "年利率", "annual_rate", True, _plain(values.rate_ppm)),
                _c("repayment_method", "还款方式", "repayment_method", True, _plain(values.method)),
            ),
        ),
        Kind(
            "repayment",
            (
                replace(_c("bank_ref", "银行流水号", "bank_ref", True, REF), cached=False),
                _c("contract_no", "贷款合同号", "contract_no", True, REF),
                _c("id_number", "身份证号", "id_number", False, _id),
                _c("paid_on", "还款日期", "paid_on", True, _DATE, no_future=True),
                _c("principal", "归还本金", "principal", True, _AMOUNT, money=True),
                _c("interest", "归还利息", "interest", True, _AMOUNT, money=True),
                _c("penalty", "罚息", "penalty", False, _AMOUNT, money=True),
                _c("balance_after", "本金余额", "balance_after", True, _AMOUNT, money=True),
                _c("reversal_of", "冲正原流水号", "reversal_of", False, REF),
            ),
        ),
        Kind(
            "balances",
            (
                _c("as_of", "余额日期", "as_of", True, _DATE, no_future=True),
                _c("contract_no", "贷款合同号", "contract_no", True, REF),
                _c(
                    "principal_outstanding",
                    "本金余额",
                    "principal_outstanding",
                    True,
                    _AMOUNT,
                    money=True,
                ),
                _c(
                    "overdue_principal", "逾期本金", "overdue_principal", False, _AMOUNT, money=True
                ),
                _c("days_overdue", "逾期天数", "days_overdue", False, _plain(values.count)),
            ),
        ),
        Kind(
            "statement",
            (
                _c("booked_on", "交易日期", "booked_on", True, _DATE, no_future=True),
                replace(_c("bank_ref", "银行流水号", "bank_ref", True, REF), cached=False),
                _c("direction", "借贷方向", "direction", True, _plain(values.direction)),
                _c("amount", "金额", "amount", True, _AMOUNT, money=True),
                _c("balance", "余额", "balance", True, _AMOUNT, money=True),
                _c("counterparty", "对方户名", "counterparty", False, _text(200)),
                _c("memo", "摘要", "memo", False, _text(200)),
                _c("account_no", "账号", "account_no", False, _text(40)),
            ),
        ),
        Kind(
            "borrowers",
            (
                _f("borrower_name", "借款人姓名", True, _text(100)),
                replace(_f("id_number", "身份证号", True, _id_as_given), cached=False),
                _f("district", "区县", True, _text(100)),
                _f("borrower_type", "借款人类型", False, _plain(values.borrower_type)),
                _f("head_count", "合伙人数", False, _plain(values.count)),
                _f("categories", "人员类别", False, _plain(values.categories)),
                _f("certificate_no", "再就业优惠证号", False, _text(40)),
                _f("issued_by", "发证机关", False, _text(100)),
                _f("issued_on", "发证日期", False, _DATE, no_future=True),
            ),
            bureau=True,
        ),
        Kind(
            "guarantees",
            (
                _f("id_number", "身份证号", True, _id),
                _f("borrower_name", "借款人姓名", False, _text(100)),
                _f("bank", "经办银行", True, _text(100)),
                _f("amount", "担保金额", True, _AMOUNT, money=True),
                _f("term_months", "担保期限（月）", True, _plain(values.count)),
                _f("approved_on", "审批日期", True, _DATE, no_future=True),
                _f("counter_guarantee", "反担保方式", False, _plain(values.counter_guarantee_kind)),
                _f("counter_guarantee_value", "反担保价值", False, _AMOUNT, money=True),
                _f("guarantor_name", "保证人姓名", False, _text(100)),
                _f("guarantor_id_number", "保证人身份证号", False, _id),
                _f(
                    "guarantor_employer_type", "保证人单位性质", False, _plain(values.employer_type)
                ),
                _f("counter_guarantee_description", "反担保说明", False, _text(200)),
                _f("fund", "担保基金", False, _text(100)),
            ),
            bureau=True,
        ),
    )
}
#: A partner bank's files, and the bureau's lists.
BANK_KINDS = {name: kind for name, kind in KINDS.items() if not kind.bureau}
BUREAU_KINDS = {name: kind for name, kind in KINDS.items() if kind.bureau}


def kind_named(name: str) -> Kind:
    kind = KINDS.get((name or "").strip().lower())
    if kind is None:
        raise FileRejected(
            f"unknown file kind {name!r}; one of " + ", ".join(KINDS),
            zh=f"文件类型“{name}”无效，应为："
            + "、".join(f"{k.zh}（{k.name}）" for k in KINDS.values()),
        )
    return kind
