"""A demo city's guarantee fund, built only through the fund's own operations.

Two years of history from 2024-07-01 (cut short if that would reach within a few days of
``today``): reference data and users, capital allocated by the province, the city, three
districts (one has paid only part of its matching money) and a donor into the city-level
fund; 城东区's own fund from 2025-01-06 with its own money; placements of both funds at
three partner banks, a few hundred borrowers with guarantee approvals, disbursements under all
four repayment methods, repayments following each loan's schedule (most on time, some
late, some prepaid, about 5% stopping), extensions, cancelled commitments, claims,
recoveries (one through a counter-guarantee), write-offs, quarterly deposit interest and
the first year's books closed.

Every demo user signs in with the one demo password, :data:`DEMO_PASSWORD`
(``Demo#2026fund``), stored argon2id-hashed: hashed once, the same hash on every user's
row (its salt is part of it), so that building the demo costs one hash.

Everything is planned first, in plain Python from a seeded random generator (so the same
seed gives the same books), then played through the operations in date order, many
operations per transaction. The plan respects the rules the operations enforce: the
placements are sized from the planned exposure so that no disbursement breaks the
leverage cap, and banks are chosen so that none is suspended for its compensation rate.
"""

from __future__ import annotations

import datetime as dt
import heapq
import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from ledger import chart
from ledger.accounts import AccountSpec
from ledger.chain import drain_sealer
from ledger.clock import business_today
from ledger.db import run_in_transaction
from ledger.fund import access, capital, claims, funds, guarantees, loans, recoveries, reference
from ledger.fund.approvals import GuaranteeRequest, approve_guarantees
from ledger.fund.books import PPM, balance_now, share
from ledger.fund.borrowers import BorrowerSpec, register_borrowers
from ledger.fund.disbursements import DisbursementLine, apply_disbursements
from ledger.fund.guarantees import CounterGuaranteeSpec
from ledger.fund.identity import Sex, age_on, make_resident_id
from ledger.fund.policy import RuleSet, rules_on
from ledger.fund.read.loans import loan_detail
from ledger.fund.reference import SYSTEM, Role, SourceKind
from ledger.fund.repayments import RepaymentLine, apply_repayments
from ledger.fund.schedule import Installment, Method, add_months, build_schedule, extend_schedule
from ledger.models import JournalEntry
from ledger.periods import close_period

START = dt.date(2024, 7, 1)
#: The history ends here, or a few days before ``today`` if that comes first.
END = dt.date(2026, 6, 30)
#: Nothing is dated later than ``today`` minus this.
MARGIN_DAYS = 5
#: The first year's books are closed through this date (on CLOSE_ON).
CLOSE_THROUGH = dt.date(2025, 6, 30)
CLOSE_ON = dt.date(2025, 7, 15)
#: Events per transaction (a batch of repayments counts each of its lines).
BATCH = 2_000

DISTRICTS = (("D01", "城东区"), ("D02", "城西区"), ("D03", "新河县"))
#: 城东区 starts its own fund half a year in; its residents' guarantees approved from then
#: on draw on it (the city-level fund, CITY, guarantees everyone else).
DISTRICT_FUND = ("D01", "城东区担保基金", "D01", dt.date(2025, 1, 6))
#: The district fund's own capital, paid in before each of its placements.
DISTRICT_FUND_SOURCE = ("D01-own", "城东区区级出资", SourceKind.DISTRICT, "D01")
BANKS = (
    ("ICBC", "工商银行", "1705020129200088516"),
    ("ABC", "农业银行", "16-702101040012345"),
    ("RCB", "农村商业银行", "81020000006587214"),
)
#: The capital sources: (code, name, kind, district).
SOURCES = (
    ("provincial", "省级拨付", SourceKind.PROVINCIAL, None),
    ("city", "市级配套", SourceKind.CITY, None),
    *((f"district-{code}", f"{name}配套", SourceKind.DISTRICT, code) for code, name in DISTRICTS),
    ("other", "社会捐赠", SourceKind.OTHER, None),
)
#: Region codes of first registration in one province (Henan, 41).
REGIONS = (
    "410102", "410103", "410105", "410122", "410181", "410702", "410703", "410711",
    "410721", "410724", "410725", "410726", "410727", "410781", "410782", "410802",
    "411102", "411302", "411502", "411622",
)  # fmt: skip

ADMIN = "admin"
CLERKS = ("wang.fang", "zhao.min")
APPROVERS = ("li.jun", "chen.jing")
BANK_USERS = {"ICBC": "icbc.liu", "ABC": "abc.sun", "RCB": "rcb.zhou"}
AUDITOR = "audit.he"
#: The password of every demo user (it meets the password policy), so that the web
#: application can be tried; they are not asked to change it.
DEMO_PASSWORD = "Demo#2026fund"
USERS = (
    (CLERKS[0], "王芳", [Role.CLERK], None),
    (CLERKS[1], "赵敏", [Role.CLERK], None),
    (APPROVERS[0], "李军", [Role.APPROVER], None),
    (APPROVERS[1], "陈静", [Role.APPROVER], None),
    (BANK_USERS["ICBC"], "刘洋（工商银行）", [Role.BANK], "ICBC"),
    (BANK_USERS["ABC"], "孙丽（农业银行）", [Role.BANK], "ABC"),
    (BANK_USERS["RCB"], "周强（农村商业银行）", [Role.BANK], "RCB"),
    (AUDITOR, "何平（市审计局）", [Role.AUDITOR], None),
)

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡"
    "余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯"
)


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


MALE_NAMES = _words(
    "伟 强 磊 军 勇 杰 涛 明 超 刚 平 辉 鹏 华 飞 鑫 波 斌 宇 浩 凯 健 俊 帆 旭 宁 龙 林 阳 "
    "建华 建国 志强 国强 文博 晓东 海涛 志刚 永刚 卫东 红军 建军 德明 俊杰 子豪 浩然 宇航 家豪 "
    "振华 立新 春生 长青 保国 新民 金柱 铁军 天佑 博文"
)
FEMALE_NAMES = _words(
    "芳 娜 敏 静 丽 艳 娟 霞 婷 雪 琳 洁 燕 红 梅 莉 丹 萍 玲 慧 倩 颖 晶 "
    "秀英 桂英 玉兰 秀兰 欣怡 雨涵 梦瑶 佳怡 思雨 淑珍 凤霞 春梅 海燕 晓红 丽华 美玲 秀珍 "
    "金凤 翠花 亚楠 文静 晓燕 雅婷 紫涵"
)
FIRM_WORDS = _words("鑫源 宏达 丰泰 绿野 金穗 众诚 华兴 瑞丰 恒信 春晖 益农 兴旺 聚福 永昌")
FIRM_TRADES = _words(
    "农产品 餐饮管理 服装加工 电子商务 物流 家政服务 建材 生态养殖 食品 汽车维修 农机服务 印务"
)
EMPLOYERS = ("civil_servant", "public_institution", "state_enterprise")

#: Declared categories besides person_4050 (which the labour office registers for those
#: of the age: see Applicants.categories).
CATEGORIES = (
    "registered_unemployed",
    "reemployment_certificate",
    "veteran",
    "graduate",
    "disabled",
    "returning_migrant",
    "zero_employment_household",
    "poverty_alleviated",
)

#: Capital allocations: (date, source, per-mille of the fund's total capital, reference).
ALLOCATIONS = (
    (dt.date(2024, 7, 3), "provincial", 300, "豫财社〔2024〕58号"),
    (dt.date(2024, 7, 8), "city", 150, "市财社〔2024〕21号"),
    (dt.date(2024, 9, 12), "district-D01", 70, "东财〔2024〕33号"),
    (dt.date(2024, 10, 15), "district-D02", 25, "西财〔2024〕19号"),
    (dt.date(2024, 12, 18), "other", 30, "市慈善总会捐赠〔2024〕7号"),
    (dt.date(2025, 1, 6), "provincial", 200, "豫财社〔2024〕131号"),
    (dt.date(2025, 3, 20), "city", 150, "市财社〔2025〕9号"),
    (dt.date(2025, 4, 22), "district-D02", 25, "西财〔2025〕11号"),
    (dt.date(2025, 5, 28), "district-D03", 20, "新财〔2025〕6号"),
)
#: What each district has committed to put in, per-mille of the total (新河县 paid 20 of 50).
#: The districts' matching money is due by the end of the programme's first half-year.
MATCHING_DUE = dt.date(2024, 12, 31)
DISTRICT_COMMITTED = {"district-D01": 70, "district-D02": 50, "district-D03": 50}
#: Placement tranches at the banks.
TRANCHES = (
    dt.date(2024, 7, 10),
    dt.date(2025, 1, 10),
    dt.date(2025, 7, 10),
    dt.date(2026, 1, 9),
)
#: Placements cover the need under the base leverage multiplier with this margin.
MARGIN_PERMILLE = 1150
YUAN = 100
WAN = 10_000 * YUAN


@dataclass(frozen=True)
class DemoSummary:
    borrowers: int
    commitments: int
    loans: int
    repayments: int
    claims: int
    recoveries: int
    write_offs: int
    entries: int
    extensions: int = 0
    cancellations: int = 0

    def line(self) -> str:
        return (
            f"demo city built: {self.borrowers} borrowers, {self.loans} loans, "
            f"{self.repayments} repayments, {self.claims} claims, {self.recoveries} recoveries, "
            f"{self.write_offs} write-offs, {self.entries} entries"
        )


# ----------------------------------------------------------------------------- the plan


@dataclass
class ClaimPlan:
    file_on: dt.date
    approve_on: dt.date
    pay_on: dt.date
    #: Principal outstanding when filed (the loss) and the fund's share of it.
    loss: int
    amount: int
    #: (date, total amount, enforce a counter-guarantee of this kind or None)
    recoveries: list[tuple[dt.date, int, str | None]] = field(default_factory=list)
    #: (requested on, approved on)
    write_off: tuple[dt.date, dt.date] | None = None


@dataclass
class LoanPlan:
    disburse_on: dt.date
    maturity_on: dt.date
    principal: int
    rate: int
    method: Method
    coverage: int
    schedule: tuple[Installment, ...]
    behaviour: str = "on_time"
    contract_no: str = ""
    extension: tuple[dt.date, dt.date] | None = None
    #: (paid on, principal, interest, penalty, bank reference)
    payments: list[list] = field(default_factory=list)
    claim: ClaimPlan | None = None


@dataclass
class Applicant:
    n: int
    name: str
    id_number: str
    sex: Sex
    birth: dt.date
    district: str
    btype: str
    heads: int
    categories: tuple[str, ...]
    approve_on: dt.date
    amount: int
    term: int
    counter_guarantees: tuple[CounterGuaranteeSpec, ...]
    bank: str = ""
    cancel_on: dt.date | None = None
    loan: LoanPlan | None = None


class _Rules:
    """The rules in force on each date, read from the database once per date."""

    def __init__(self, factory: sessionmaker[Session]):
        self.factory = factory
        self.cache: dict[dt.date, RuleSet] = {}

    def __call__(self, on: dt.date) -> RuleSet:
        if on not in self.cache:
            with self.factory() as s:
                self.cache[on] = rules_on(s, on)
        return self.cache[on]


def _weekday(day: dt.date) -> dt.date:
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return day


def _days(n: int) -> dt.timedelta:
    return dt.timedelta(days=n)


def _ceil_to(amount: int, unit: int) -> int:
    return -(-amount // unit) * unit


class _Planner:
    def __init__(self, rng: random.Random, rules: _Rules, end: dt.date, n_loans: int):
        self.rng = rng
        self.rules = rules
        self.end = end
        self.n_loans = n_loans
        self.ids: set[str] = set()

    # --- people

    def person_name(self, sex: Sex) -> str:
        rng = self.rng
        surname = SURNAMES[min(int(rng.expovariate(1 / 14)), len(SURNAMES) - 1)]
        given = rng.choice(MALE_NAMES if sex is Sex.MALE else FEMALE_NAMES)
        return surname + given

    def resident_id(self, birth: dt.date, sex: Sex) -> str:
        while True:
            number = make_resident_id(self.rng.choice(REGIONS), birth, self.rng.randrange(100), sex)
            if number not in self.ids:
                self.ids.add(number)
                return number

    def birth_for_age(self, age: int, on: dt.date) -> dt.date:
        birth = dt.date(on.year - age - 1, 1, 1) + _days(self.rng.randrange(365))
        while age_on(birth, on) > age:
            birth += _days(30)
        while age_on(birth, on) < age:
            birth -= _days(30)
        return birth

    def categories(self, sex: Sex, age: int, district: str) -> tuple[str, ...]:
        rng = self.rng
        is_4050 = age >= (40 if sex is Sex.FEMALE else 50)
        if is_4050 and rng.random() < 0.35:
            return ("person_4050",)  # registered as a 4050 person only
        weights = {
            "registered_unemployed": 40,
            "reemployment_certificate": 12 if age >= 35 else 2,
            "veteran": 10 if sex is Sex.MALE else 1,
            "graduate": 30 if age <= 28 else 0,
            "disabled": 3,
            "returning_migrant": 20 if district == "D03" else 6,
            "zero_employment_household": 4,
            "poverty_alleviated": 8 if district == "D03" else 1,
        }
        names = [c for c in CATEGORIES if weights[c]]
        first = rng.choices(names, [weights[c] for c in names])[0]
        if rng.random() < 0.15:
            second = rng.choices(names, [weights[c] for c in names])[0]
            return tuple(sorted({first, second}))
        return (first,)

    # --- applications

    def applicant(self, n: int, approve_on: dt.date) -> Applicant:
        rng = self.rng
        rules = self.rules(approve_on)
        sex = Sex.MALE if rng.random() < 0.56 else Sex.FEMALE
        age = rng.randint(20, 58)
        if sex is Sex.FEMALE:
            age = min(age, 55)  # the rules' oldest woman
        birth = self.birth_for_age(age, approve_on)
        district = rng.choices(["D01", "D02", "D03"], [40, 35, 25])[0]
        r = rng.random()
        btype, heads = "individual", 1
        if r < 0.025:
            btype = "small_enterprise"
        elif r < 0.11:
            btype, heads = "partnership", rng.randint(2, 5)
        person = self.person_name(sex)
        if btype == "small_enterprise":
            name = (
                f"{dict(DISTRICTS)[district]}{rng.choice(FIRM_WORDS)}"
                f"{rng.choice(FIRM_TRADES)}有限公司"
            )
            amount = rng.choice((50, 60, 80, 100, 120, 150)) * WAN
            term = rng.choice((24, 36))
        elif btype == "partnership":
            name = f"{person}等{heads}人合伙"
            amount = min(rng.choice((10, 12, 15, 20)) * WAN * heads, rules.loan_limit(btype, heads))
            term = rng.choice((24, 36))
        else:
            name = person
            amount = rng.choices((5, 6, 8, 10, 12, 15, 20), (18, 10, 16, 26, 8, 12, 10))[0] * WAN
            term = rng.choices((12, 24, 36), (45, 40, 15))[0]
        amount = min(amount, rules.loan_limit(btype, heads))
        term = min(term, rules["max_term_months"])
        return Applicant(
            n=n,
            name=name,
            id_number=self.resident_id(birth, sex),
            sex=sex,
            birth=birth,
            district=district,
            btype=btype,
            heads=heads,
            categories=self.categories(sex, age, district),
            approve_on=approve_on,
            amount=amount,
            term=term,
            counter_guarantees=self.counter_guarantees(amount, approve_on, district),
        )

    def counter_guarantees(
        self, amount: int, on: dt.date, district: str
    ) -> tuple[CounterGuaranteeSpec, ...]:
        rng = self.rng
        policy = self.rules(on)["counter_guarantee"]
        required = amount > policy["required_above_fen"]
        if not required and rng.random() < 0.7:
            return ()
        r = rng.random()
        if required and r < 0.06 and "credit_community" in policy["waiver_kinds"]:
            return (CounterGuaranteeSpec("credit_community", description="信用社区推荐免反担保"),)
        if r < 0.6:
            return (self.guarantor(on),)
        if r < 0.8:
            return (self.mortgage(amount, on, district),)
        if r < 0.86:
            value = _ceil_to(amount * 11 // 10, WAN)
            return (
                CounterGuaranteeSpec(
                    "pledge", value, description=f"定期存单质押 {format(value // YUAN, ',')} 元"
                ),
            )
        return (
            CounterGuaranteeSpec(
                "joint_group", description=f"{rng.randint(3, 5)}户联保小组，互相承担连带责任"
            ),
        )

    def guarantor(self, on: dt.date) -> CounterGuaranteeSpec:
        sex = Sex.MALE if self.rng.random() < 0.6 else Sex.FEMALE
        birth = self.birth_for_age(self.rng.randint(30, 55), on)
        employer = self.rng.choice(EMPLOYERS)
        return CounterGuaranteeSpec(
            "guarantor",
            guarantor_name=self.person_name(sex),
            guarantor_id_number=self.resident_id(birth, sex),
            employer_type=employer,
            description="财政供养人员担保" if employer != "state_enterprise" else "国企职工担保",
        )

    def mortgage(self, amount: int, on: dt.date, district: str) -> CounterGuaranteeSpec:
        value = _ceil_to(amount * self.rng.randint(15, 25) // 10, WAN)
        place = dict(DISTRICTS)[district]
        return CounterGuaranteeSpec(
            "mortgage",
            value,
            description=f"房产抵押，豫({on.year}){place}不动产权第{self.rng.randrange(10**7):07d}号",
        )

    def loan(self, a: Applicant) -> LoanPlan:
        rng = self.rng
        disburse_on = _weekday(a.approve_on + _days(rng.randint(3, 20)))
        rules = self.rules(disburse_on)
        if a.btype == "small_enterprise":
            method = rng.choice((Method.INTEREST_ONLY, Method.EQUAL_PRINCIPAL))
        elif a.term == 12:
            method = rng.choices(
                (Method.BULLET, Method.INTEREST_ONLY, Method.ANNUITY, Method.EQUAL_PRINCIPAL),
                (40, 35, 15, 10),
            )[0]
        else:
            method = rng.choices(
                (Method.INTEREST_ONLY, Method.ANNUITY, Method.EQUAL_PRINCIPAL), (30, 40, 30)
            )[0]
        principal = a.amount
        if rng.random() < 0.08:  # the bank lent a little less than approved
            principal -= rng.randint(1, max(1, a.amount // WAN // 5)) * WAN
        maturity_on = add_months(disburse_on, a.term)
        cap = rules.rate_cap_on(disburse_on)
        rate = cap - rng.choice((0, 25, 50, 75, 100, 150, 200)) * 100
        return LoanPlan(
            disburse_on=disburse_on,
            maturity_on=maturity_on,
            principal=principal,
            rate=rate,
            method=method,
            coverage=rules["coverage_ppm"],
            schedule=build_schedule(principal, rate, method, disburse_on, maturity_on),
        )

    # --- repayment behaviour

    def default_stop(self, plan: LoanPlan) -> int | None:
        """An installment the borrower can stop at and still be claimed, recovered and
        written off before the end; None when the loan is too young."""
        days = self.rules(plan.disburse_on)["claim_after_days_overdue"]
        latest = self.end - _days(days + 45 + 60)
        options = [i for i, item in enumerate(plan.schedule) if item.due_on <= latest and i < 12]
        return self.rng.choice(options) if options else None

    def payments(self, plan: LoanPlan, stop: int | None) -> None:
        rng = self.rng
        end = self.end
        out = []
        prepay_at = None
        if plan.behaviour == "prepay" and len(plan.schedule) > 2:
            prepay_at = rng.randrange(1, len(plan.schedule) - 1)
        remaining = plan.principal
        for i, item in enumerate(plan.schedule):
            if stop is not None and i >= stop:
                break
            paid_on, principal, interest, penalty = item.due_on, item.principal, item.interest, 0
            if plan.behaviour == "late" and rng.random() < 0.3:
                late = rng.randint(1, 20)
                paid_on = item.due_on + _days(late)
                penalty = (principal + interest) * late * 5 // 10_000
            if i == prepay_at:
                principal = remaining
            if paid_on > end:
                break
            out.append([paid_on, principal, interest, penalty, ""])
            remaining -= principal
            if remaining == 0:
                break
        plan.payments = out


def _plan(rng: random.Random, rules: _Rules, end: dt.date, n_loans: int) -> list[Applicant]:
    planner = _Planner(rng, rules, end, n_loans)
    first, last = START + _days(14), end - _days(30)
    if last <= first:
        raise ValueError(f"the demo needs history from {START}; {end} is too early")
    n_cancel = max(1, n_loans // 100)
    span = (last - first).days
    # Lending picks up over time: approval dates drawn with a gently rising density.
    days = sorted(int(span * rng.random() ** 0.8) for _ in range(n_loans + n_cancel))
    applicants = [planner.applicant(n, _weekday(first + _days(d))) for n, d in enumerate(days)]
    cancelled = set(rng.sample(range(len(applicants)), n_cancel))
    for a in applicants:
        if a.n in cancelled:
            a.cancel_on = _weekday(a.approve_on + _days(rng.randint(20, 45)))
            if a.cancel_on > end:
                a.cancel_on = None
                cancelled.discard(a.n)
        else:
            a.loan = planner.loan(a)
    lent = [a for a in applicants if a.loan is not None]
    # Most pay on time; some late, some prepay; about 5% stop paying (at least three).
    stops: dict[int, int] = {}
    for a in lent:
        r = rng.random()
        if r < 0.05:
            stop = planner.default_stop(a.loan)
            if stop is not None:
                a.loan.behaviour, stops[a.n] = "default", stop
                continue
        a.loan.behaviour = "late" if r < 0.16 else "prepay" if r < 0.19 else "on_time"
    for a in lent:
        if len(stops) >= (3 if n_loans >= 10 else 0):
            break
        stop = planner.default_stop(a.loan) if a.n not in stops else None
        if stop is not None and a.btype == "individual":
            a.loan.behaviour, stops[a.n] = "default", stop
    _plan_extensions(rng, lent, end)
    for a in lent:
        planner.payments(a.loan, stops.get(a.n))
    _plan_claims(rng, planner, [a for a in lent if a.n in stops], stops, end)
    applicants = _assign_banks(rng, rules, applicants)
    _number(applicants)
    return applicants


def _plan_extensions(rng: random.Random, lent: list[Applicant], end: dt.date) -> None:
    candidates = [
        a
        for a in lent
        if a.loan.behaviour == "on_time"
        and a.loan.method in (Method.BULLET, Method.INTEREST_ONLY)
        and a.loan.maturity_on <= end - _days(30)
    ]
    count = min(len(candidates), max(1, len(lent) * 15 // 1000))
    for a in rng.sample(candidates, count):
        plan = a.loan
        on = _weekday(plan.maturity_on - _days(rng.randint(10, 25)))
        if on >= plan.maturity_on or on < plan.disburse_on:
            continue
        new_maturity = add_months(plan.maturity_on, rng.choice((6, 12)))
        plan.extension = (on, new_maturity)
        plan.schedule = extend_schedule(
            plan.schedule,
            extended_on=on,
            new_maturity=new_maturity,
            annual_rate_ppm=plan.rate,
            method=plan.method,
            disbursed_on=plan.disburse_on,
        )


def _plan_claims(
    rng: random.Random,
    planner: _Planner,
    defaulters: list[Applicant],
    stops: dict[int, int],
    end: dt.date,
) -> None:
    for a in defaulters:
        plan = a.loan
        due = plan.schedule[stops[a.n]].due_on
        days = planner.rules(plan.disburse_on)["claim_after_days_overdue"]
        file_on = _weekday(due + _days(days + rng.randint(3, 20)))
        approve_on = _weekday(file_on + _days(rng.randint(3, 10)))
        pay_on = _weekday(approve_on + _days(rng.randint(2, 8)))
        loss = plan.principal - sum(p[1] for p in plan.payments)
        plan.claim = ClaimPlan(file_on, approve_on, pay_on, loss, share(loss, plan.coverage))
    ordered = sorted(defaulters, key=lambda a: a.loan.claim.pay_on)
    for k, a in enumerate(ordered):
        c = a.loan.claim
        room = (end - c.pay_on).days
        role = ("write_off", "enforce", "partial")[k] if k < 3 else None
        if role is None:
            r = rng.random()
            held = [g.kind for g in a.counter_guarantees if g.kind in ("guarantor", "mortgage")]
            if held and r < 0.2:
                role = "enforce"
            elif r < 0.55:
                role = "partial"
            elif r < 0.8 and room >= 100:
                role = "write_off"
        if role == "enforce":
            kinds = [g.kind for g in a.counter_guarantees]
            if "mortgage" not in kinds and "guarantor" not in kinds:
                a.counter_guarantees = (planner.mortgage(a.amount, a.approve_on, a.district),)
            kind = next(g.kind for g in a.counter_guarantees if g.kind in ("mortgage", "guarantor"))
            value = next(g.value for g in a.counter_guarantees if g.kind == kind)
            proceeds = c.loss if kind == "mortgage" and value >= c.loss else c.loss * 6 // 10
            on = _weekday(c.pay_on + _days(rng.randint(40, min(120, max(40, room - 5)))))
            c.recoveries.append((on, proceeds, kind))
        elif role == "partial":
            on = _weekday(c.pay_on + _days(rng.randint(20, min(90, max(20, room - 5)))))
            c.recoveries.append((on, c.loss * rng.randint(15, 45) // 100 // YUAN * YUAN, None))
        elif role == "write_off":
            on = _weekday(c.pay_on + _days(rng.randint(20, 60)))
            c.recoveries.append((on, c.loss * rng.randint(5, 15) // 100 // YUAN * YUAN, None))
            low = min(150, max(30, room - 40))
            request_on = _weekday(c.pay_on + _days(rng.randint(low, max(low, min(300, room - 25)))))
            c.write_off = (request_on, _weekday(request_on + _days(rng.randint(5, 15))))
        c.recoveries = [r for r in c.recoveries if r[0] <= end and r[1] > 0]
        if c.write_off and c.write_off[1] > end:
            c.write_off = None


def _assign_banks(
    rng: random.Random, rules: _Rules, applicants: list[Applicant]
) -> list[Applicant]:
    """Choose each applicant's bank, never one its compensation rate has suspended; returns
    the applicants who found a bank (in a tiny demo every bank may be suspended).

    Replays the rule of ``guarantees._check_suspension`` on the plan: on the approval date,
    claims paid at the bank ÷ principal it disbursed may not exceed the threshold.
    """
    kept = []
    pending_loans = {b: [] for b, _, _ in BANKS}  # heaps of (disburse_on, principal)
    pending_claims = {b: [] for b, _, _ in BANKS}  # heaps of (pay_on, amount)
    guaranteed = dict.fromkeys(pending_loans, 0)
    paid = dict.fromkeys(pending_loans, 0)
    for a in sorted(applicants, key=lambda x: (x.approve_on, x.n)):
        day = a.approve_on
        for b in pending_loans:
            while pending_loans[b] and pending_loans[b][0][0] <= day:
                guaranteed[b] += heapq.heappop(pending_loans[b])[1]
            while pending_claims[b] and pending_claims[b][0][0] <= day:
                paid[b] += heapq.heappop(pending_claims[b])[1]
        weights = {"D01": (45, 35, 20), "D02": (40, 40, 20), "D03": (20, 25, 55)}[a.district]
        order = []
        codes = [b for b, _, _ in BANKS]
        while codes:
            pick = rng.choices(codes, [weights[[b for b, _, _ in BANKS].index(c)] for c in codes])
            order.append(pick[0])
            codes.remove(pick[0])
        threshold = rules(day)["suspend_above_compensation_rate_ppm"]
        open_banks = [b for b in order if not paid[b] * PPM > threshold * guaranteed[b]]
        if not open_banks:
            continue  # every bank is suspended: the application is turned down
        a.bank = open_banks[0]
        kept.append(a)
        if a.loan is not None:
            heapq.heappush(pending_loans[a.bank], (a.loan.disburse_on, a.loan.principal))
            if a.loan.claim is not None:
                c = a.loan.claim
                heapq.heappush(pending_claims[a.bank], (c.pay_on, c.amount))
    return kept


def _number(applicants: list[Applicant]) -> None:
    """Contract numbers and repayment references, as each bank would number them."""
    contracts: dict[tuple[str, int], int] = defaultdict(int)
    lent = sorted((a for a in applicants if a.loan), key=lambda a: (a.loan.disburse_on, a.n))
    for a in lent:
        year = a.loan.disburse_on.year
        contracts[a.bank, year] += 1
        a.loan.contract_no = f"{a.bank}-{year}-{contracts[a.bank, year]:05d}"
    refs: dict[str, int] = defaultdict(int)
    payments = sorted(
        ((p[0], a.n, k, a.bank, p) for a in lent for k, p in enumerate(a.loan.payments)),
        key=lambda x: x[:3],
    )
    for paid_on, _, _, bank, p in payments:
        refs[bank] += 1
        p[4] = f"{bank}{paid_on:%Y%m%d}{refs[bank]:08d}"


# ----------------------------------------------------------------------------- capital


def fund_of(a: Applicant) -> str:
    """The fund that guarantees the applicant: as ``funds.fund_for`` will choose it."""
    code, _name, district, established_on = DISTRICT_FUND
    return code if a.district == district and a.approve_on >= established_on else chart.CITY_FUND


def _tranches(fund: str, end: dt.date) -> list[dt.date]:
    """A fund's placement dates: the city's tranches; a district fund's first placement on
    the day it is set up, then the city's tranches after it."""
    if fund == chart.CITY_FUND:
        return [t for t in TRANCHES if t <= end]
    established_on = DISTRICT_FUND[3]
    return [t for t in (established_on, *TRANCHES) if established_on <= t <= end]


def _placements(
    applicants: list[Applicant], rules: _Rules, end: dt.date
) -> list[tuple[dt.date, str, int, str]]:
    """(date, bank, fen, fund): placements per tranche so that the base leverage multiplier
    × (placed − claims paid) always covers the planned exposure of each fund at each bank,
    with a margin."""
    events: dict[tuple[str, str], list[tuple[dt.date, int, int, int]]] = defaultdict(list)
    for a in applicants:
        plan = a.loan
        if plan is None:
            continue
        key = (a.bank, fund_of(a))
        exposure = share(plan.principal, plan.coverage)
        events[key].append((plan.disburse_on, 0, exposure, 0))
        outstanding = plan.principal
        for paid_on, principal, *_ in plan.payments:
            outstanding -= principal
            after = share(outstanding, plan.coverage)
            events[key].append((paid_on, 1, after - exposure, 0))
            exposure = after
        if plan.claim is not None:
            events[key].append((plan.claim.pay_on, 1, -exposure, plan.claim.amount))
    out = []
    for fund in (chart.CITY_FUND, DISTRICT_FUND[0]):
        tranches = _tranches(fund, end)
        for bank, _, _ in BANKS:
            if not tranches or (fund != chart.CITY_FUND and not events[(bank, fund)]):
                continue
            need = [0] * len(tranches)
            exposure = claims_paid = 0
            for day, _, delta, claim in sorted(events[(bank, fund)]):
                exposure += delta
                claims_paid += claim
                k = max((i for i, t in enumerate(tranches) if t <= day), default=0)
                multiplier = rules(day)["leverage"]["base"]
                need[k] = max(need[k], -(-exposure // multiplier) + claims_paid)
            placed = 0
            for k, day in enumerate(tranches):
                floor = (100 if fund == chart.CITY_FUND else 20) * WAN if k == 0 else 0
                target = _ceil_to(max(need[k] * MARGIN_PERMILLE // 1000, floor), 10 * WAN)
                if target > placed:
                    out.append((day, bank, target - placed, fund))
                    placed = target
    return sorted(out)


def _allocations(
    placements: list[tuple[dt.date, str, int, str]], end: dt.date
) -> tuple[list[tuple[dt.date, str, int, str]], dict[str, int]]:
    """The city fund's allocations in fixed shares of a total large enough that every
    placement finds the money in the treasury (and some lies idle); the district fund's
    own money paid in on the day of each of its placements (a little more than it places);
    and what each district committed."""
    city = [p for p in placements if p[3] == chart.CITY_FUND]
    total = 0
    for day, *_ in city:
        placed = sum(fen for d, _, fen, _ in city if d <= day)
        share_by_then = sum(pm for d, _, pm, _ in ALLOCATIONS if d <= day)
        total = max(total, -(-placed * 1000 // share_by_then))
    placed_all = sum(fen for _, _, fen, _ in city)
    total = max(total, placed_all * 105 // 100, 500 * WAN)
    allocations = [
        (day, source, _ceil_to(total * pm // 1000, WAN), ref)
        for day, source, pm, ref in ALLOCATIONS
        if day <= end
    ]
    own: dict[dt.date, int] = defaultdict(int)
    for day, _bank, fen, fund in placements:
        if fund != chart.CITY_FUND:
            own[day] += fen
    for n, (day, fen) in enumerate(sorted(own.items()), start=1):
        ref = f"东财〔{day.year}〕{40 + n}号"
        allocations.append((day, DISTRICT_FUND_SOURCE[0], _ceil_to(fen * 105 // 100, WAN), ref))
    committed = {s: _ceil_to(total * pm // 1000, WAN) for s, pm in DISTRICT_COMMITTED.items()}
    return allocations, committed


# ----------------------------------------------------------------------------- playing it


def _setup(s: Session, committed: dict[str, int]) -> None:
    reference.add_user(s, ADMIN, "张伟（信息中心）", [Role.ADMIN], actor=SYSTEM)
    for code, name in DISTRICTS:
        reference.add_district(s, code, name, actor=ADMIN)
    for code, name, account_no in BANKS:
        reference.add_bank(s, code, name, account_no, actor=ADMIN)
    fund, fund_name, fund_district, established_on = DISTRICT_FUND
    funds.add_fund(s, fund, fund_name, fund_district, established_on, actor=ADMIN)
    for code, name, kind, district in SOURCES:
        due = MATCHING_DUE if code in committed else None
        reference.add_capital_source(
            s, code, name, kind, district=district, committed=committed.get(code), due_on=due,
            actor=ADMIN,
        )  # fmt: skip
    code, name, kind, district = DISTRICT_FUND_SOURCE
    reference.add_capital_source(s, code, name, kind, district=district, fund=fund, actor=ADMIN)
    for username, name, roles, bank in USERS:
        reference.add_user(s, username, name, roles, bank=bank, actor=ADMIN)
    access.set_initial_passwords(
        s, [ADMIN, *(u[0] for u in USERS)], DEMO_PASSWORD, actor=ADMIN, must_change=False
    )


def _allocate(s: Session, source: str, fen: int, on: dt.date, ref: str, n: int) -> None:
    row = capital.record_allocation(
        s, source, fen, on, actor=CLERKS[n % 2], reference=ref, note="资金到位"
    )
    capital.approve_allocation(s, row.id, actor=APPROVERS[n % 2])


def _deposit_interest(s: Session, bank: str, on: dt.date, ref: str, fund: str) -> None:
    balance = balance_now(s, chart.special_account(bank, fund))
    rate = rules_on(s, on)["deposit_interest"]["rate_ppm"]
    fen = balance * rate * 91 // (360 * PPM)
    if fen > 0:
        capital.record_deposit_interest(s, bank, fen, on, ref, actor=BANK_USERS[bank], fund=fund)


class _Player:
    """Plays the plan's events through the operations; remembers what they numbered."""

    def __init__(self, today: dt.date):
        self.today = today
        self.commitments: dict[int, str] = {}
        self.claims: dict[int, str] = {}
        self.write_offs: dict[int, int] = {}

    def register(self, s: Session, day: dt.date, group: list[Applicant]) -> None:
        register_borrowers(
            s,
            [
                BorrowerSpec(a.id_number, a.name, a.district, a.btype, a.categories, a.heads)
                for a in group
            ],
            actor=CLERKS[day.toordinal() % 2],
            today=self.today,
        )

    def approve(self, s: Session, day: dt.date, group: list[Applicant]) -> None:
        approved = approve_guarantees(
            s,
            [
                GuaranteeRequest(
                    a.id_number, a.bank, a.amount, a.term, a.approve_on, a.counter_guarantees
                )
                for a in group
            ],
            actor=APPROVERS[day.toordinal() % 2],
            today=self.today,
        )
        for a, commitment in zip(group, approved, strict=True):
            self.commitments[a.n] = commitment.number

    def cancel(self, s: Session, a: Applicant) -> None:
        reason = ("借款人放弃创业项目，主动撤回申请", "经营场地未落实，借款人申请撤销")[a.n % 2]
        guarantees.cancel_commitment(
            s, self.commitments[a.n], reason, a.cancel_on, actor=CLERKS[a.n % 2]
        )

    def disburse(self, s: Session, bank: str, group: list[Applicant]) -> None:
        lines = [
            DisbursementLine(
                a.loan.contract_no,
                self.commitments[a.n],
                a.name,
                a.id_number,
                a.loan.disburse_on,
                a.loan.maturity_on,
                a.loan.principal,
                a.loan.rate,
                a.loan.method,
            )
            for a in group
        ]
        apply_disbursements(s, bank=bank, lines=lines, actor=BANK_USERS[bank], today=self.today)

    def repay(self, s: Session, bank: str, group: list[tuple[Applicant, list]]) -> None:
        lines = [
            RepaymentLine(ref, a.loan.contract_no, paid_on, principal, interest, penalty)
            for a, (paid_on, principal, interest, penalty, ref) in group
        ]
        apply_repayments(s, bank=bank, lines=lines, actor=BANK_USERS[bank], today=self.today)

    def extend(self, s: Session, a: Applicant) -> None:
        on, new_maturity = a.loan.extension
        loans.extend_loan(
            s,
            bank=a.bank,
            contract_no=a.loan.contract_no,
            new_maturity=new_maturity,
            on=on,
            actor=APPROVERS[a.n % 2],
            today=self.today,
        )

    def file_claim(self, s: Session, a: Applicant) -> None:
        claim = claims.file_claim(
            s,
            bank=a.bank,
            contract_no=a.loan.contract_no,
            on=a.loan.claim.file_on,
            actor=BANK_USERS[a.bank],
        )
        self.claims[a.n] = claim.number

    def approve_claim(self, s: Session, a: Applicant) -> None:
        claims.approve_claim(
            s, self.claims[a.n], on=a.loan.claim.approve_on, actor=APPROVERS[a.n % 2]
        )

    def pay_claim(self, s: Session, a: Applicant) -> None:
        claims.pay_claim(
            s, self.claims[a.n], on=a.loan.claim.pay_on, actor=APPROVERS[(a.n + 1) % 2]
        )

    def recover(self, s: Session, a: Applicant, on: dt.date, amount: int, kind: str | None):
        if kind is None:
            recoveries.record_recovery(
                s,
                bank=a.bank,
                contract_no=a.loan.contract_no,
                amount=amount,
                on=on,
                actor=CLERKS[a.n % 2],
                reference=f"追偿款 {a.loan.contract_no}",
            )
            return
        state = loan_detail(s, a.bank, a.loan.contract_no, on)
        item = next(g for g in state.counter_guarantees if g.kind == kind and g.status == "held")
        recoveries.enforce_counter_guarantee(
            s, item.id, proceeds=amount, on=on, actor=CLERKS[a.n % 2]
        )

    def request_write_off(self, s: Session, a: Applicant) -> None:
        row = recoveries.request_write_off(
            s,
            bank=a.bank,
            contract_no=a.loan.contract_no,
            reason="借款人下落不明，经诉讼执行无可供执行财产，追偿无果",
            on=a.loan.claim.write_off[0],
            actor=CLERKS[a.n % 2],
        )
        self.write_offs[a.n] = row.id

    def approve_write_off(self, s: Session, a: Applicant) -> None:
        recoveries.approve_write_off(
            s, self.write_offs[a.n], on=a.loan.claim.write_off[1], actor=APPROVERS[a.n % 2]
        )


@dataclass(frozen=True)
class _Item:
    """An event played together with its neighbours of the same day, order and bank."""

    kind: str
    bank: str | None
    payload: object


def _steps(events, player: _Player) -> list[tuple[int, Callable[[Session], object]]]:
    """The events as (how many, operation): runs of batchable items become one batch."""
    steps: list[tuple[int, Callable[[Session], object]]] = []
    run: list[_Item] = []
    key = None

    def flush() -> None:
        if not run:
            return
        kind, bank, day = run[0].kind, run[0].bank, key[0]
        items = [item.payload for item in run]
        if kind == "register":
            steps.append((len(items), partial(player.register, day=day, group=items)))
        elif kind == "approve":
            steps.append((len(items), partial(player.approve, day=day, group=items)))
        elif kind == "disburse":
            steps.append((len(items), partial(player.disburse, bank=bank, group=items)))
        else:
            steps.append((len(items), partial(player.repay, bank=bank, group=items)))
        run.clear()

    for day, order, _, op in events:
        if isinstance(op, _Item):
            if (day, order, op.kind, op.bank) != key:
                flush()
                key = (day, order, op.kind, op.bank)
            run.append(op)
            continue
        flush()
        key = None
        steps.append((1, op))
    flush()
    return steps


def _events(
    applicants: list[Applicant],
    placements: list[tuple[dt.date, str, int, str]],
    allocations: list[tuple[dt.date, str, int, str]],
    player: _Player,
    end: dt.date,
) -> list[tuple[dt.date, float, int, Callable[[Session], object] | _Item]]:
    """(date, order within the day, sequence, operation) for everything in the plan."""
    events: list[tuple[dt.date, float, int, Callable[[Session], object] | _Item]] = []

    def add(day: dt.date, order: float, op: Callable[[Session], object] | _Item) -> None:
        events.append((day, order, len(events), op))

    for n, (day, source, fen, ref) in enumerate(allocations):
        add(day, 1, partial(_allocate, source=source, fen=fen, on=day, ref=ref, n=n))
    for n, (day, bank, fen, fund) in enumerate(placements):
        add(day, 2, partial(capital.place_capital, bank=bank, amount=fen, on=day,
                            actor=CLERKS[n % 2], fund=fund))  # fmt: skip
    placed_at = {(bank, fund) for _, bank, _, fund in placements}
    quarter_end = dt.date(START.year, 9, 21)
    while quarter_end <= end:
        q = (quarter_end.month - 1) // 3 + 1
        for bank, fund in sorted(placed_at):
            key = bank if fund == chart.CITY_FUND else f"{bank}-{fund}"
            ref = f"INT-{key}-{quarter_end.year}Q{q}"
            add(quarter_end, 3, partial(_deposit_interest, bank=bank, on=quarter_end, ref=ref,
                                        fund=fund))  # fmt: skip
        quarter_end = add_months(quarter_end, 3)
    for a in applicants:
        add(a.approve_on, 4, _Item("register", None, a))
        add(a.approve_on, 4.5, _Item("approve", a.bank, a))
        if a.cancel_on is not None:
            add(a.cancel_on, 5, partial(player.cancel, a=a))
        plan = a.loan
        if plan is None:
            continue
        add(plan.disburse_on, 6, _Item("disburse", a.bank, a))
        if plan.extension is not None:
            add(plan.extension[0], 7, partial(player.extend, a=a))
        for payment in plan.payments:
            add(payment[0], 8, _Item("repay", a.bank, (a, payment)))
        c = plan.claim
        if c is None:
            continue
        add(c.file_on, 9, partial(player.file_claim, a=a))
        add(c.approve_on, 10, partial(player.approve_claim, a=a))
        add(c.pay_on, 11, partial(player.pay_claim, a=a))
        for on, amount, kind in c.recoveries:
            add(on, 12, partial(player.recover, a=a, on=on, amount=amount, kind=kind))
        if c.write_off is not None:
            add(c.write_off[0], 13, partial(player.request_write_off, a=a))
            add(c.write_off[1], 14, partial(player.approve_write_off, a=a))
    if end >= CLOSE_ON:
        add(CLOSE_ON, 15, lambda s: close_period(s, CLOSE_THROUGH, actor=APPROVERS[0]))
    # A day's batchable rows of one bank sit together (banks are independent of each other).
    events.sort(
        key=lambda e: (e[0], e[1], e[3].bank or "" if isinstance(e[3], _Item) else "", e[2])
    )
    return events


def city_chart() -> list[AccountSpec]:
    """The accounts the city's reference data opens: the standard chart, and the accounts
    of each capital source and each partner bank (``ledger.chart`` holds the one list of
    what a source and a bank have)."""
    specs = list(chart.STANDARD_CHART)
    for code, name, _kind, _district in SOURCES:
        specs += chart.source_accounts(code, name)
    fund, fund_name, _district, _established_on = DISTRICT_FUND
    specs += chart.fund_accounts(fund, fund_name)
    specs += chart.source_accounts(DISTRICT_FUND_SOURCE[0], DISTRICT_FUND_SOURCE[1], fund)
    for code, name, _account_no in BANKS:
        specs += chart.bank_accounts(code, name)
        specs += chart.bank_accounts(code, name, fund, fund_name)
    return specs


def build_fund_demo(
    factory: sessionmaker[Session],
    *,
    seed: int = 2026,
    loans: int = 300,
    today: dt.date | None = None,
) -> DemoSummary:
    """Build the demo city's fund in an empty, migrated database; returns what it holds."""
    if loans < 1:
        raise ValueError("the demo needs at least one loan")
    today = today or business_today()
    end = min(END, today - _days(MARGIN_DAYS))
    rng = random.Random(seed)
    rules = _Rules(factory)
    applicants = _plan(rng, rules, end, loans)
    placements = _placements(applicants, rules, end)
    allocations, committed = _allocations(placements, end)
    run_in_transaction(factory, lambda s: _setup(s, committed))
    player = _Player(today)
    events = _events(applicants, placements, allocations, player, end)
    batch: list[Callable[[Session], object]] = []
    size = 0
    for count, op in _steps(events, player):
        batch.append(op)
        size += count
        if size >= BATCH:
            run_in_transaction(factory, lambda s, batch=batch: [op(s) for op in batch])
            batch, size = [], 0
    if batch:
        run_in_transaction(factory, lambda s, batch=batch: [op(s) for op in batch])
    drain_sealer(factory.kw["bind"])
    lent = [a.loan for a in applicants if a.loan is not None]
    claimed = [p.claim for p in lent if p.claim is not None]
    with factory() as s:
        entries = s.scalar(select(func.count()).select_from(JournalEntry))
    return DemoSummary(
        borrowers=len(applicants),
        commitments=len(applicants),
        loans=len(lent),
        repayments=sum(len(p.payments) for p in lent),
        claims=len(claimed),
        recoveries=sum(len(c.recoveries) for c in claimed),
        write_offs=sum(1 for c in claimed if c.write_off is not None),
        entries=int(entries),
        extensions=sum(1 for p in lent if p.extension is not None),
        cancellations=sum(1 for a in applicants if a.cancel_on is not None),
    )
