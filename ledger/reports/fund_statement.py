"""The fund statement (担保基金收支及资产负债情况表) for any period, of one fund or of the
city consolidated: what auditors pull.

Every figure is :func:`ledger.fund.statement.fund_statement`'s — balances and movements
by effective date only — so a period the books have closed gives the same statement
whenever it is produced. Its sections:

- ``capital``: each capital source's opening capital, what the period brought it
  (allocations received, deposit interest, guarantee fees), the losses attributed to it
  (written off, and recovered after write-off) and its closing capital; a total line.
- ``movements``: what each kind of entry did to the treasury, the special accounts, the
  compensation receivable and claims payable, and so to net capital (allocations,
  placements and withdrawals, interest, fees, claims approved and paid, recoveries,
  write-offs); a total line, whose net is closing − opening capital.
- ``assets``: the assets that hold the capital — the treasury, each bank's special
  account, compensation receivable — less claims payable; opening and closing.
- ``exposure``: the guarantee exposure outstanding at each bank, opening and closing.
- ``proof``: net capital = assets − liabilities, to the fen, opening and closing: the
  ``difference`` cell is 0.

A bank or a source with nothing in the period and nothing before it (opened later) has
no line: the statement of a closed period does not grow a line of zeros when a bank is
added. Each money figure drills to the ``postings`` list (``ledger.reports.general_ledger``)
that adds up to it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger import chart
from ledger.fund.funds import check_fund, fund_codes
from ledger.fund.statement import FLOW_LINES, fund_statement
from ledger.models import Account
from ledger.reports.anchor import anchor_for
from ledger.reports.common import check_period, money, one, parse_date, report, text
from ledger.reports.document import Drill, Report, Row, Section
from ledger.reports.general_ledger import drill
from ledger.reports.sources import kind_zh

KIND = "fund-statement"
ZH, EN = "担保基金收支及资产负债情况表", "Fund statement"

CAPITAL_COLUMNS = (
    text("source", "资金来源", "Source"),
    text("name", "名称", "Name"),
    money("opening", "期初资本", "Opening"),
    money("allocations", "本期拨入", "Allocations received"),
    money("interest", "利息收入", "Deposit interest"),
    money("fees", "担保费收入", "Guarantee fees"),
    money("written_off", "核销损失", "Written off"),
    money("recovered", "核销后追回", "Recovered after write-off"),
    money("closing", "期末资本", "Closing"),
)
MOVEMENT_COLUMNS = (
    text("kind", "业务类型", "Kind"),
    text("name", "名称", "Name"),
    money("treasury", "财政待拨付资金", "Treasury"),
    money("special", "专户存款", "Special accounts"),
    money("receivable", "代偿应收款", "Compensation receivable"),
    money("payable", "应付代偿款", "Claims payable"),
    money("net", "对净资本的影响", "Net capital"),
)
BALANCE_COLUMNS = (
    text("code", "科目", "Account"),
    text("name", "名称", "Name"),
    money("opening", "期初", "Opening"),
    money("closing", "期末", "Closing"),
)
EXPOSURE_COLUMNS = (
    text("bank", "合作银行", "Bank"),
    text("name", "名称", "Name"),
    money("opening", "期初", "Opening"),
    money("closing", "期末", "Closing"),
)
PROOF_COLUMNS = (
    text("when", "时点", "At"),
    money("net_capital", "净资本", "Net capital"),
    money("assets", "资产", "Assets"),
    money("liabilities", "负债", "Liabilities"),
    money("difference", "差额", "Difference"),
)


def fund_statement_report(
    session: Session, start: dt.date, end: dt.date, fund: str | None = None
) -> Report:
    check_period(start, end)
    fund = check_fund(session, fund)
    anchor = anchor_for(session, end)
    st = fund_statement(session, start, end, fund)
    scope = [fund] if fund is not None else fund_codes(session)
    before = start - dt.timedelta(days=1)
    period = {"start": start, "end": end}

    # ----------------------------------------------------------------- capital by source
    rows = []
    opened = _opened(session, st.sources)
    for s in st.sources:
        figures = (s.opening, s.contributed, s.interest, s.fees, s.written_off, s.recovered,
                   s.closing)  # fmt: skip
        if not any(figures):
            continue
        own = [chart.capital_account(s.code), *chart.source_income_accounts(s.code),
               chart.loss_account(s.code)]  # fmt: skip
        own = [code for code in own if code in opened]  # a fee account opens with a fee
        loss = [chart.loss_account(s.code)]

        def to(codes, **kw):
            codes = [code for code in codes if code in opened]
            return drill(codes, **kw) if codes else None

        rows.append(
            Row(
                (s.code, s.name, *figures),
                (
                    None, None,
                    to(own, end=before),
                    to([chart.capital_account(s.code)], **period),
                    to([chart.interest_income_account(s.code)], **period),
                    to([chart.guarantee_fee_income_account(s.code)], **period),
                    to(loss, **period, side="D"),
                    to(loss, **period, side="C"),
                    to(own, end=end),
                ),
            )
        )  # fmt: skip
    rows.append(_total(rows, CAPITAL_COLUMNS, ("", "合计")))
    capital = Section("capital", "基金资本（按资金来源）", "Capital by source", CAPITAL_COLUMNS,
                      tuple(rows))  # fmt: skip

    # ------------------------------------------------------------- movements by kind
    treasuries = [chart.treasury_account(f) for f in scope]
    lines = {
        "treasury": treasuries,
        "special": [chart.SPECIAL],
        "receivable": [chart.RECEIVABLE],
        "payable": [chart.CLAIMS_PAYABLE],
    }
    by_fund = {"fund": fund}
    rows = []
    for kind, moved in st.flows.items():
        figures = [moved[line] for line in FLOW_LINES]
        net = sum(figures[:3]) - figures[3]
        drills = [drill(lines[line], **period, kind=kind, **by_fund) for line in FLOW_LINES]
        rows.append(
            Row(
                (kind, kind_zh(kind), *figures, net),
                (None, Drill("entries", (("kind", kind), ("from", str(start)), ("to", str(end)))),
                 *drills, None),
            )
        )  # fmt: skip
    rows.append(_total(rows, MOVEMENT_COLUMNS, ("", "合计")))
    movements = Section("movements", "本期变动（按业务类型）", "Movements by kind",
                        MOVEMENT_COLUMNS, tuple(rows))  # fmt: skip

    # ---------------------------------------------------------------- assets, liabilities
    rows = []
    for line in st.assets:
        if not (line.opening or line.closing) and line.code.startswith(chart.SPECIAL + ":"):
            continue  # a bank with nothing yet
        codes = _codes(line.code, scope)
        rows.append(
            Row(
                (line.code, line.name, line.opening, line.closing),
                (None, None, drill(codes, end=before, **_fund(line.code, fund)),
                 drill(codes, end=end, **_fund(line.code, fund))),
            )
        )  # fmt: skip
    total_assets = _total(rows, BALANCE_COLUMNS, ("", "资产合计"))
    owed = st.liabilities
    held = (total_assets.cells[2], total_assets.cells[3])
    assets = Section(
        "assets", "资产与负债", "Assets and liabilities", BALANCE_COLUMNS,
        (
            *rows,
            total_assets,
            Row(
                (owed.code, f"减：{owed.name}", owed.opening, owed.closing),
                (None, None, drill([owed.code], end=before, fund=fund),
                 drill([owed.code], end=end, fund=fund)),
            ),
            Row(("", "净资产（资产减负债）", held[0] - owed.opening, held[1] - owed.closing),
                total=True),
        ),
    )  # fmt: skip

    # ------------------------------------------------------------------------ exposure
    rows = []
    for line in st.exposures:
        if not (line.opening or line.closing):
            continue
        bank = line.code.split(":")[2].split("-")[0]
        contras = [chart.exposure_contra_account(bank, f) for f in scope]
        rows.append(
            Row(
                (bank, line.name, line.opening, line.closing),
                (None, None, drill(contras, end=before), drill(contras, end=end)),
            )
        )
    rows.append(_total(rows, EXPOSURE_COLUMNS, ("", "合计")))
    exposure = Section("exposure", "在保责任余额（按合作银行）", "Guarantee exposure by bank",
                       EXPOSURE_COLUMNS, tuple(rows))  # fmt: skip

    # --------------------------------------------------------------------------- proof
    proof = Section(
        "proof", "平衡验证：净资本 = 资产 − 负债", "Proof: net capital = assets − liabilities",
        PROOF_COLUMNS,
        (
            Row(("期初", st.opening, held[0], owed.opening, st.opening - (held[0] - owed.opening))),
            Row(("期末", st.closing, held[1], owed.closing, st.closing - (held[1] - owed.closing))),
        ),
    )  # fmt: skip

    params = {"from": start.isoformat(), "to": end.isoformat(), "fund": fund}
    return report(KIND, ZH, EN, params, [capital, movements, assets, exposure, proof], anchor)


def _opened(session: Session, sources) -> set[str]:
    """Which of the sources' own accounts are open (a guarantee fee account opens with the
    first fee a source receives)."""
    codes = []
    for s in sources:
        codes += [chart.capital_account(s.code), *chart.source_income_accounts(s.code),
                  chart.loss_account(s.code)]  # fmt: skip
    return set(session.scalars(select(Account.code).where(Account.code.in_(codes))))


def _total(rows: list[Row], columns: tuple, label: tuple[str, ...]) -> Row:
    """A total line: the label, then the sum of each column after it."""
    first = len(label)
    sums = [sum(r.cells[i] or 0 for r in rows) for i in range(first, len(columns))]
    return Row((*label, *sums), total=True)


def _codes(code: str, scope: list[str]) -> list[str]:
    """The accounts an asset line of the statement sums: the treasury of each fund, or
    one line's own (a special account's code names the first fund's; the others are the
    same bank's under each fund)."""
    if code == chart.TREASURY:
        return [chart.treasury_account(f) for f in scope]
    if code.startswith(chart.SPECIAL + ":"):
        bank = code.split(":")[2].split("-")[0]
        return [chart.special_account(bank, f) for f in scope]
    return [code]


def _fund(code: str, fund: str | None) -> dict:
    """The fund filter of a line's drill: the receivable is one subtree of every fund's."""
    return {"fund": fund} if code == chart.RECEIVABLE else {}


def from_params(session: Session, params: Mapping[str, object]) -> Report:
    return fund_statement_report(
        session, parse_date(params, "from"), parse_date(params, "to"), one(params, "fund")
    )


def period(params: Mapping[str, object]) -> tuple[dt.date | None, dt.date]:
    return parse_date(params, "from"), parse_date(params, "to")
