"""The bureau's lists of the tests: a community's 200 borrowers, and guarantees for twelve
of them, on the fund of ``tests/fund/conftest.py`` (districts D01 城东区, D02 城西区, D03
新河县; banks ICBC 工商银行 and ABC 农业银行).

``files/make_bureau_files.py`` writes them as the checked-in files; the tests read the
same people from here. Every test passes :data:`TODAY` as the business date.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ledger.fund.identity import Sex, make_resident_id

D = dt.date
TODAY = D(2026, 11, 30)

BORROWER_HEADER = ["序号", "借款人姓名", "身份证号", "区县", "借款人类型", "合伙人数", "人员类别",
                   "再就业优惠证号", "发证机关", "发证日期", "联系电话"]  # fmt: skip

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = ["建国", "秀英", "志强", "丽娟", "海波", "桂兰", "永红", "小燕", "国庆", "春梅", "文斌",
         "玉珍", "德明", "淑芬", "晓东", "美玲", "宏伟", "翠花", "振华", "静怡", "立新", "红霞",
         "子豪", "雪梅", "家乐"]  # fmt: skip
#: How the list names each district: by code or by name, as clerks write them.
DISTRICTS = [
    ("D01", "D01"), ("D02", "城西区"), ("D03", "新河县"), ("D01", "城东区"), ("D02", "D02")
]  # fmt: skip
CATEGORIES = [
    ("登记失业人员", ("registered_unemployed",)),
    ("退役军人", ("veteran",)),
    ("高校毕业生", ("graduate",)),
    ("返乡创业农民工", ("returning_migrant",)),
    ("登记失业人员、零就业家庭", ("registered_unemployed", "zero_employment_household")),
    ("妇女创业者", ("woman_entrepreneur",)),
    ("残疾人", ("disabled",)),
    ("graduate", ("graduate",)),
]


@dataclass(frozen=True)
class Person:
    """One row of the borrowers list (row 2 is the first), and what it registers."""

    row: int
    name: str
    #: As written in the list (the last person's is a first-generation 15-digit number).
    id_number: str
    #: The 18-digit form the register matches on.
    id_18: str
    district: str
    district_as_written: str
    #: As written ("" for none: an individual) and as registered.
    type_as_written: str
    borrower_type: str
    head_count_as_written: int | None
    head_count: int
    categories_as_written: str
    categories: tuple[str, ...]
    certificate: tuple[str, str, dt.date] | None
    born: dt.date
    sex: str


def _person(n: int) -> Person:
    row = n + 2
    sex = Sex.MALE if n % 2 == 0 else Sex.FEMALE
    born = D(1976, 1, 10) + dt.timedelta(days=47 * n)
    number = make_resident_id("110105", born, n % 100, sex)
    given, id_18 = number, number
    if n == 199:
        # A first-generation card: 110105 780315 123, read as 110105197803151238.
        born, sex = D(1978, 3, 15), Sex.MALE
        given, id_18 = "110105780315123", "11010519780315123" + _check("11010519780315123")
    district, as_written = DISTRICTS[n % len(DISTRICTS)]
    if n % 25 == 24:
        type_written, kind, heads_written, heads = "合伙创业", "partnership", 2 + n % 3, 2 + n % 3
    elif n % 40 == 39:
        type_written, kind, heads_written, heads = "小微企业", "small_enterprise", None, 1
    else:
        type_written = "" if n % 4 == 1 else "个人"
        kind, heads_written, heads = "individual", None, 1
    written, categories = CATEGORIES[n % len(CATEGORIES)]
    certificate = None
    if n % 10 == 3:
        office = "城东区人力资源和社会保障局"
        certificate = (f"再就业证 2020-{n:05d}", office, D(2020, 6, 1 + n % 28))
    name = SURNAMES[n % len(SURNAMES)] + GIVEN[(n * 7) % len(GIVEN)]
    return Person(
        row, name, given, id_18, district, as_written, type_written, kind, heads_written, heads,
        written, categories, certificate, born, sex.value,
    )  # fmt: skip


def _check(first17: str) -> str:
    from ledger.fund.identity import check_digit

    return check_digit(first17)


#: The community's list: 200 people, rows 2 to 201.
PEOPLE = tuple(_person(n) for n in range(200))


def borrower_rows(people=PEOPLE) -> list[list]:
    """The list as a spreadsheet holds it: a serial number and a telephone column the
    fund ignores, dates as dates."""
    rows = [list(BORROWER_HEADER)]
    for n, p in enumerate(people, 1):
        cert_no, office, issued = p.certificate or (None, None, None)
        rows.append(
            [n, p.name, p.id_number, p.district_as_written, p.type_as_written,
             p.head_count_as_written, p.categories_as_written, cert_no, office, issued,
             f"1390000{n:04d}"]
        )  # fmt: skip
    return rows


# ------------------------------------------------------------------------ guarantees

GUARANTEE_HEADER = ["身份证号", "借款人姓名", "经办银行", "担保金额", "担保期限（月）", "审批日期",
                    "反担保方式", "反担保价值", "保证人姓名", "保证人身份证号", "保证人单位性质",
                    "反担保说明", "备注"]  # fmt: skip

#: A guarantor who is nobody's borrower.
GUARANTOR = ("周建国", make_resident_id("110105", D(1970, 5, 5), 88, Sex.MALE))


@dataclass(frozen=True)
class Guarantee:
    """One row of the guarantees list and the commitment it makes."""

    person: Person
    bank_as_written: str
    bank: str
    amount_as_written: str
    #: Fen.
    amount: int
    term_months: int
    approved_on: dt.date
    #: (反担保方式, 反担保价值, 保证人姓名, 保证人身份证号, 保证人单位性质, 反担保说明) as written.
    counter_guarantee: tuple = ("", "", "", "", "", "")


G = Guarantee
#: Twelve of the list's people, rows 2 to 13: above 100,000 yuan the 2015 rules (in
#: force since) want a counter-guarantee; one row below it has a credit community's waiver.
GUARANTEES = (
    G(PEOPLE[0], "ICBC", "ICBC", "100000.00", 10_000_000, 24, D(2026, 11, 20)),
    G(PEOPLE[1], "工商银行", "ICBC", "80,000.00", 8_000_000, 24, D(2026, 11, 20)),
    G(PEOPLE[2], "ICBC", "ICBC", "¥150,000.00", 15_000_000, 36, D(2026, 11, 20),
      ("保证人", "", GUARANTOR[0], GUARANTOR[1], "事业单位", "")),
    G(PEOPLE[3], "abc", "ABC", "50000", 5_000_000, 12, D(2026, 11, 23)),
    G(PEOPLE[4], "ABC", "ABC", "200000.00", 20_000_000, 36, D(2026, 11, 23),
      ("抵押", "300,000.00", "", "", "", "房产证 城东字第 2019-0457 号")),
    G(PEOPLE[5], "ABC", "ABC", "120000.50", 12_000_050, 24, D(2026, 11, 23),
      ("联保小组", "", "", "", "", "城东区创业联保小组第 3 组")),
    G(PEOPLE[6], "农业银行", "ABC", "30000", 3_000_000, 12, D(2026, 11, 24),
      ("信用社区免担保", "", "", "", "", "城西区信用社区推荐")),
    G(PEOPLE[7], "ICBC", "ICBC", "100,000", 10_000_000, 24, D(2026, 11, 24)),
    G(PEOPLE[8], "ICBC", "ICBC", "60000.00", 6_000_000, 24, D(2026, 11, 24)),
    G(PEOPLE[9], "ICBC", "ICBC", "180000", 18_000_000, 36, D(2026, 11, 25),
      ("质押", "200000.00", "", "", "", "定期存单 NO.6228-0091")),
    G(PEOPLE[10], "ABC", "ABC", "90000.00", 9_000_000, 24, D(2026, 11, 25)),
    G(PEOPLE[11], "ABC", "ABC", "１００，０００．００", 10_000_000, 24, D(2026, 11, 25)),
)  # fmt: skip


def guarantee_rows(guarantees=GUARANTEES) -> list[list]:
    rows = [list(GUARANTEE_HEADER)]
    for g in guarantees:
        rows.append(
            [g.person.id_18, g.person.name, g.bank_as_written, g.amount_as_written,
             g.term_months, g.approved_on, *g.counter_guarantee, "社区推荐"]
        )  # fmt: skip
    return rows
