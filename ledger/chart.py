"""The fund's standard chart of accounts (names in Chinese for the people who read them).

Per-bank, per-source and per-loan sub-accounts are opened under these groups as the
fund's reference data grows.
"""

from __future__ import annotations

from ledger.accounts import AccountSpec
from ledger.models import AccountType, Side

ASSET, LIABILITY, CAPITAL_T, INCOME, EXPENSE, MEMO = (
    AccountType.ASSET,
    AccountType.LIABILITY,
    AccountType.CAPITAL,
    AccountType.INCOME,
    AccountType.EXPENSE,
    AccountType.MEMORANDUM,
)

#: The city-level fund's code. Its accounts are the chart's own (``asset:special:ICBC``);
#: a district's fund has the same accounts with its code after the bank's
#: (``asset:special:ICBC-D01``) or the treasury's (``asset:treasury-D01``). Bank and fund
#: codes are upper-case letters and digits, so the two never collide.
CITY_FUND = "CITY"

TREASURY = "asset:treasury"
SPECIAL = "asset:special"
RECEIVABLE = "asset:receivable"
CLAIMS_PAYABLE = "liability:claims-payable"
CAPITAL = "capital"
INTEREST_INCOME = "income:deposit-interest"
GUARANTEE_LOSS = "expense:guarantee-loss"
EXPOSURE = "memo:exposure"
EXPOSURE_CONTRA = "memo:exposure-contra"
COUNTER_GUARANTEES = "memo:counter-guarantees"
COUNTER_GUARANTEES_CONTRA = "memo:counter-guarantees-contra"
GUARANTEE_FEE_INCOME = "income:guarantee-fee"

STANDARD_CHART: tuple[AccountSpec, ...] = (
    AccountSpec("asset", "资产", ASSET, is_group=True),
    AccountSpec(TREASURY, "财政待拨付资金", no_overdraft=True, fund=CITY_FUND),
    AccountSpec(SPECIAL, "担保基金专户存款", is_group=True),
    AccountSpec(RECEIVABLE, "代偿应收款", is_group=True),
    AccountSpec("liability", "负债", LIABILITY, is_group=True),
    AccountSpec(CLAIMS_PAYABLE, "应付代偿款", is_group=True),
    AccountSpec(CAPITAL, "基金资本", CAPITAL_T, is_group=True),
    AccountSpec("income", "收入", INCOME, is_group=True),
    AccountSpec(INTEREST_INCOME, "专户存款利息收入", is_group=True),
    AccountSpec("expense", "损失", EXPENSE, is_group=True),
    AccountSpec(GUARANTEE_LOSS, "担保代偿损失核销", is_group=True),
    AccountSpec("memo", "备查登记", MEMO, normal_side=Side.DEBIT, is_group=True),
    AccountSpec(EXPOSURE, "在保责任余额", MEMO, normal_side=Side.DEBIT, is_group=True),
    AccountSpec(EXPOSURE_CONTRA, "在保责任对方科目", MEMO, normal_side=Side.CREDIT, is_group=True),
    AccountSpec(COUNTER_GUARANTEES, "反担保物登记", MEMO, normal_side=Side.DEBIT, is_group=True),
    AccountSpec(
        COUNTER_GUARANTEES_CONTRA, "反担保物对方科目", MEMO, normal_side=Side.CREDIT, is_group=True
    ),
    AccountSpec(GUARANTEE_FEE_INCOME, "担保费收入", is_group=True),
)


def placement_key(bank: str, fund: str = CITY_FUND) -> str:
    """The segment naming a fund's money at a bank: the bank's code for the city-level
    fund, ``{bank}-{fund}`` for a district's."""
    return bank if fund == CITY_FUND else f"{bank}-{fund}"


def treasury_account(fund: str = CITY_FUND) -> str:
    """Money a fund has received and not yet placed at a bank."""
    return TREASURY if fund == CITY_FUND else f"{TREASURY}-{fund}"


def special_account(bank: str, fund: str = CITY_FUND) -> str:
    return f"{SPECIAL}:{placement_key(bank, fund)}"


def capital_account(source: str) -> str:
    return f"{CAPITAL}:{source}"


def interest_income_account(source: str) -> str:
    """Deposit interest attributed to one capital source."""
    return f"{INTEREST_INCOME}:{source}"


def guarantee_fee_income_account(source: str) -> str:
    """Guarantee fees (担保费) received, attributed to one capital source."""
    return f"{GUARANTEE_FEE_INCOME}:{source}"


def source_income_accounts(source: str) -> tuple[str, str]:
    """Every income account of one capital source: deposit interest, guarantee fees."""
    return interest_income_account(source), guarantee_fee_income_account(source)


def loss_account(source: str) -> str:
    """Guarantee losses written off and attributed to one capital source."""
    return f"{GUARANTEE_LOSS}:{source}"


def exposure_account(bank: str, fund: str = CITY_FUND) -> str:
    return f"{EXPOSURE}:{placement_key(bank, fund)}"


def exposure_contra_account(bank: str, fund: str = CITY_FUND) -> str:
    return f"{EXPOSURE_CONTRA}:{placement_key(bank, fund)}"


def claims_payable_account(bank: str, fund: str = CITY_FUND) -> str:
    return f"{CLAIMS_PAYABLE}:{placement_key(bank, fund)}"


def counter_guarantee_accounts(bank: str, fund: str = CITY_FUND) -> tuple[str, str]:
    key = placement_key(bank, fund)
    return f"{COUNTER_GUARANTEES}:{key}", f"{COUNTER_GUARANTEES_CONTRA}:{key}"


def fund_accounts(fund: str, name: str) -> list[AccountSpec]:
    """The accounts a district's fund has of its own before any bank: its treasury."""
    return [
        AccountSpec(treasury_account(fund), f"财政待拨付资金-{name}", no_overdraft=True, fund=fund)
    ]


def bank_accounts(
    bank: str, name: str, fund: str = CITY_FUND, fund_name: str = ""
) -> list[AccountSpec]:
    """The accounts a fund has at every partner bank: its special account, its exposure
    (one sub-account per loan below it) and exposure contra, its claims payable and its
    counter-guarantee pair. ``fund_name`` goes into a district fund's account names."""
    label = name if fund == CITY_FUND else f"{name}-{fund_name or fund}"
    cg, cg_contra = counter_guarantee_accounts(bank, fund)
    dims = {"bank": bank, "fund": fund}
    return [
        AccountSpec(
            special_account(bank, fund), f"担保基金专户-{label}", no_overdraft=True, **dims
        ),
        AccountSpec(exposure_account(bank, fund), f"在保责任余额-{label}", is_group=True, **dims),
        AccountSpec(exposure_contra_account(bank, fund), f"在保责任对方-{label}", **dims),
        AccountSpec(claims_payable_account(bank, fund), f"应付代偿款-{label}", **dims),
        AccountSpec(cg, f"反担保物-{label}", **dims),
        AccountSpec(cg_contra, f"反担保物对方-{label}", **dims),
    ]


def source_accounts(source: str, name: str, fund: str = CITY_FUND) -> list[AccountSpec]:
    """The accounts every capital source has: contributed capital, and the deposit interest
    and guarantee losses attributed to it. (Its guarantee fee account is opened with the
    first fee received, where a locality charges one: :func:`guarantee_fee_accounts`.)"""
    dims = {"capital_source": source, "fund": fund}
    return [
        AccountSpec(capital_account(source), name, **dims),
        AccountSpec(interest_income_account(source), f"利息收入-{name}", **dims),
        AccountSpec(loss_account(source), f"代偿损失-{name}", **dims),
    ]


def guarantee_fee_accounts(source: str, name: str, fund: str = CITY_FUND) -> list[AccountSpec]:
    """A capital source's guarantee fee income account (担保费收入)."""
    return [
        AccountSpec(
            guarantee_fee_income_account(source),
            f"担保费收入-{name}",
            capital_source=source,
            fund=fund,
        )
    ]
