"""The fund's command line (``fundledger <area> <action>``), end to end on the test database.

Every step goes through the CLI only: reference data, capital, a borrower, a guarantee, a
loan and its repayments, claims, recoveries and write-offs, reports.
"""

import datetime as dt

import pytest
from click.testing import CliRunner

from ledger.cli import cli
from ledger.fund.identity import Sex, make_resident_id
from ledger.fund.personal import mask_id_number

ZHANG = make_resident_id("110105", dt.date(1990, 5, 17), 1, Sex.MALE)
WANG = make_resident_id("110105", dt.date(1985, 8, 1), 3, Sex.FEMALE)
LI_SI = make_resident_id("110105", dt.date(1970, 2, 1), 2, Sex.FEMALE)
LOAN1 = ("--bank", "ICBC", "--contract", "ICBC-2025-001")
LOAN2 = ("--bank", "ICBC", "--contract", "ICBC-2025-002")


@pytest.fixture
def run(db_url):
    runner = CliRunner()

    def invoke(*args, actor=None):
        extra = ("--actor", actor) if actor else ()
        return runner.invoke(cli, ["--database-url", db_url, *args, *extra], catch_exceptions=False)

    return invoke


@pytest.fixture
def ok(run):
    """Run a command that must succeed; return its standard output."""

    def invoke(*args, actor=None):
        result = run(*args, actor=actor)
        assert result.exit_code == 0, result.output
        assert result.stderr == ""
        return result.stdout

    return invoke


@pytest.fixture
def fund(ok):
    """Admin, users, a district, two banks, three capital sources; capital approved and
    2,000,000 yuan placed at ICBC."""
    assert ok("user", "add", "admin", "管理员", "--role", "admin", actor="system") == (
        "user admin added: 管理员 (admin)\n"
    )
    assert ok("district", "add", "D01", "城东区", actor="admin") == "district D01 added: 城东区\n"
    assert ok("bank", "add", "ICBC", "工商银行", "1202020129900012345", actor="admin") == (
        "bank ICBC added: 工商银行, special account 1202020129900012345\n"
    )
    ok("bank", "add", "ABC", "农业银行", "6228480010000000001", actor="admin")
    ok("source", "add", "provincial", "省级拨付", "provincial", actor="admin")
    ok("source", "add", "city", "市级配套", "city", actor="admin")
    assert ok(
        "source", "add", "district-D01", "城东区配套", "district",
        "--district", "D01", "--committed", "1000000", "--due", "2025-06-30", actor="admin",
    ) == (
        "capital source district-D01 added: 城东区配套 "
        "(district of district D01, committed 1,000,000.00 yuan due 2025-06-30)\n"
    )  # fmt: skip
    for username, name, roles in (
        ("clerk", "王经办", ["clerk"]),
        ("lead", "周主任", ["clerk", "approver"]),
        ("approver", "李审核", ["approver"]),
    ):
        ok("user", "add", username, name, *[f"--role={r}" for r in roles], actor="admin")
    assert ok(
        "user", "add", "icbc", "工行信贷员", "--role", "bank", "--bank", "ICBC", actor="admin"
    ) == ("user icbc added: 工行信贷员 (bank at ICBC)\n")
    for n, (code, amount, day) in enumerate(
        (("provincial", "5000000", "02"), ("city", "2000000.50", "03"),
         ("district-D01", "600000", "04")),
        start=1,
    ):  # fmt: skip
        ok("capital", "allocate", code, amount, "--received-on", f"2025-01-{day}", actor="clerk")
        ok("capital", "approve", str(n), actor="approver")
    assert ok("capital", "place", "ICBC", "2000000", "--on", "2025-01-10", actor="lead") == (
        "placed 2,000,000.00 yuan at ICBC on 2025-01-10 (entry 4)\n"
    )
    return ok


def _guarantee_and_loan(ok):
    """张三: registered, a 100,000 yuan guarantee, a bullet loan, 20,000 repaid."""
    assert ok(
        "borrower", "add", "--id-number", ZHANG, "--name", "张三", "--district", "D01",
        "--category", "登记失业人员", actor="clerk",
    ) == f"borrower {ZHANG} registered: 张三 (individual, registered_unemployed)\n"  # fmt: skip
    assert ok(
        "guarantee", "approve", "--id-number", ZHANG, "--bank", "ICBC", "--amount", "100000",
        "--term", "24", "--on", "2025-03-01",
        "--guarantor", f"李四:{LI_SI}:civil_servant",
        "--counter-guarantee", "mortgage:300000:房产证 123号", actor="approver",
    ) == (
        "commitment G2025-ICBC-00001 approved: 100,000.00 yuan for 24 months at ICBC\n"
    )  # fmt: skip
    assert ok(
        "loan", "disburse", *LOAN1, "--guarantee", "G2025-ICBC-00001", "--name", "张三",
        "--id-number", ZHANG, "--disbursed-on", "2025-03-05", "--maturity-on", "2026-03-05",
        "--principal", "100000", "--rate", "4.35", "--method", "到期一次还本付息", actor="icbc",
    ) == (
        "loan ICBC-2025-001 disbursed at ICBC: 100,000.00 yuan at 4.35%, "
        "2025-03-05 to 2026-03-05, exposure 80,000.00 yuan\n"
    )  # fmt: skip
    assert ok(
        "loan", "repay", "--bank", "ICBC", "--ref", "R1", "--contract", "ICBC-2025-001",
        "--paid-on", "2025-09-05", "--principal", "20000", "--interest", "0",
        "--balance-after", "80000", actor="icbc",
    ) == (
        "repayment R1 on loan ICBC-2025-001 2025-09-05: principal 20,000.00, interest 0.00, "
        "penalty 0.00 yuan; principal outstanding 80,000.00 yuan\n"
    )  # fmt: skip


def test_maker_checker_refusal_in_english_and_chinese(fund, run):
    out = fund(
        "capital", "allocate", "city", "1000", "--received-on", "2025-02-01",
        "--reference", "财字〔2025〕9号", actor="lead",
    )  # fmt: skip
    assert out == (
        "allocation 4 recorded: city 1,000.00 yuan received 2025-02-01, pending approval\n"
    )
    result = run("capital", "approve", "4", actor="lead")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        "error: lead recorded this allocation and may not approve it: another approver must\n"
        "错误：lead 是该笔资金拨付的经办人，不能自己审核，须由其他审核人审核\n"
    )
    assert fund("capital", "approve", "4", actor="approver") == (
        "allocation 4 approved: city 1,000.00 yuan (entry 5)\n"
    )
    again = run("capital", "approve", "4", actor="approver")
    assert (again.exit_code, again.stderr) == (
        1,
        "error: capital allocation 4 is already approved\n"
        "错误：资金拨付记录 4 已处理（approved）\n",
    )
    assert fund("capital", "allocate", "city", "5", "--received-on", "2025-02-02", actor="clerk")
    assert fund("capital", "reject", "5", "--reason", "重复", actor="approver") == (
        "allocation 5 rejected: 重复\n"
    )


def test_loan_life_through_the_cli(fund, run):
    ok = fund
    assert ok("bank", "list").splitlines() == [
        "ABC   农业银行  6228480010000000001  active",
        "ICBC  工商银行  1202020129900012345  active",
    ]
    _guarantee_and_loan(ok)

    shown = ok("loan", "show", *LOAN1, "--as-of", "2025-10-01").splitlines()
    assert shown == [
        "loan ICBC-2025-001 at ICBC as of 2025-10-01: active (正常)",
        # Names and ID numbers are masked unless asked for whole (test_personal_data).
        f"borrower           张* {mask_id_number(ZHANG)}",
        "commitment         G2025-ICBC-00001: 100,000.00 yuan, 24 months, approved 2025-03-01",
        "principal          100,000.00 yuan at 4.35% a year, bullet (到期一次还本付息)",
        "term               2025-03-05 to 2026-03-05",
        "coverage           80.00%",
        "fund               CITY",
        "outstanding        80,000.00 yuan",
        "paid               principal 20,000.00, interest 0.00 yuan",
        "due to date        principal 0.00, interest 0.00 yuan",
        "overdue            0 days (current): principal 0.00, interest 0.00 yuan",
        "first unpaid due   2026-03-05",
        "exposure           64,000.00 yuan",
        "receivable         0.00 yuan",
        "schedule:",
        "  #  due on       principal  interest",
        # 100,000 × 4.35% × 365 / 360
        "  1  2026-03-05  100,000.00  4,410.42",
        "     total       100,000.00  4,410.42",
        "repayments:",
        "  ref  paid on     principal  interest  penalty",
        "  R1   2025-09-05  20,000.00      0.00     0.00",
        "claims: none",
        "recoveries: none",
        "counter-guarantees:",
        f"  1 guarantor 0.00 yuan held: 李* {mask_id_number(LI_SI)} (civil_servant)",
        "  2 mortgage 300,000.00 yuan held: 房产证 123号",
        # What each entry moved on the loan's own accounts: 80% of 100,000, of 20,000.
        "entries:",
        "  id  date        kind                  amount",
        "   6  2025-03-05  loan.disbursement  80,000.00",
        "   7  2025-09-05  loan.repayment     16,000.00",
    ]
    # Before maturity the exposure was 80%; as of the disbursement day nothing was repaid.
    early = ok("loan", "show", *LOAN1, "--as-of", "2025-03-05").splitlines()
    assert "exposure           80,000.00 yuan" in early
    assert "outstanding        100,000.00 yuan" in early

    refused = run("claim", "file", *LOAN1, "--on", "2026-04-15", actor="icbc")
    assert refused.exit_code == 1
    assert refused.stderr == (
        "error: loan ICBC-2025-001 is 41 days overdue on 2026-04-15; a claim needs at least "
        "90 days under the loan's rules\n"
        "错误：贷款 ICBC-2025-001 在 2026-04-15 逾期 41 天，逾期满 90 天方可申请代偿\n"
    )
    late = run("loan", "extend", *LOAN1, "--to", "2026-12-05", "--on", "2026-03-20",
               actor="approver")  # fmt: skip
    assert (late.exit_code, late.stderr.splitlines()[0]) == (
        1,
        "error: an extension must be agreed between disbursement and maturity (2026-03-05), "
        "not 2026-03-20",
    )
    assert (
        ok("loan", "extend", *LOAN1, "--to", "2026-12-05", "--on", "2026-02-20", actor="approver")
        == "loan ICBC-2025-001 extended on 2026-02-20: maturity 2026-03-05 → 2026-12-05\n"
    )
    after = ok("loan", "show", *LOAN1, "--as-of", "2026-04-15").splitlines()
    assert after[5] == "extended           on 2026-02-20: 2026-03-05 → 2026-12-05"
    assert "overdue            0 days (current): principal 0.00, interest 0.00 yuan" in after
    # The bullet's interest now runs to the new maturity: 100,000 × 4.35% × 640 / 360.
    assert "  1  2026-12-05  100,000.00  7,733.33" in after

    assert ok("report", "banks", "--as-of", "2025-12-31").splitlines() == [
        "banks as of 2025-12-31, every fund (yuan)",
        "bank         placed   exposure  outstanding  used (exp.)  used (princ.)  "
        "                        cap     remaining   floor short  compensation  repaid 2024",
        "ABC            0.00       0.00         0.00          n/a            n/a  "
        "         0.00 (5x exposure)          0.00          0.00           n/a          n/a",
        "ICBC   2,000,000.00  64,000.00    80,000.00        0.03x          0.04x  "
        "10,000,000.00 (5x exposure)  9,936,000.00  5,920,000.00         0.00%          n/a",
        "total  2,000,000.00  64,000.00    80,000.00        0.03x          0.04x  "
        "              10,000,000.00  9,936,000.00  5,920,000.00         0.00%          n/a",
    ]
    assert ok("capital", "matching", "--as-of", "2025-12-31").splitlines() == [
        "matching money by district as of 2025-12-31 (yuan)",
        "district     committed        paid      unpaid     overdue  overdue since",
        "D01       1,000,000.00  600,000.00  400,000.00  400,000.00  2025-06-30",
    ]
    # Not yet overdue on its due date.
    assert ok("capital", "matching", "--as-of", "2025-06-30").splitlines()[2].split() == [
        "D01", "1,000,000.00", "600,000.00", "400,000.00", "0.00", "-",
    ]  # fmt: skip
    assert ok("capital", "show", "--as-of", "2025-12-31").splitlines() == [
        "capital by source as of 2025-12-31 (yuan)",
        "source        fund  kind         contributed  income  losses           net"
        "     committed      unpaid  due            overdue",
        "city          CITY  city        2,000,000.50    0.00    0.00  2,000,000.50"
        "             -           -  -                    -",
        "district-D01  CITY  district      600,000.00    0.00    0.00    600,000.00"
        "  1,000,000.00  400,000.00  2025-06-30  400,000.00",
        "provincial    CITY  provincial  5,000,000.00    0.00    0.00  5,000,000.00"
        "             -           -  -                    -",
        "total                           7,600,000.50    0.00    0.00  7,600,000.50"
        "  1,000,000.00  400,000.00              400,000.00",
    ]
    # Q3 2025: 100,000 for 67 days and 80,000 for 25 days at 4.35% − (LPR 3.10% − 1.50%).
    assert ok("report", "subsidy", "--bank", "ICBC", "--year", "2025", "--quarter", "3") == (
        "interest subsidy ICBC 2025Q3: 1 loans (yuan)\n"
        "contract       days  subsidised  overdue  extended  interest  subsidy\n"
        "ICBC-2025-001    92          92        0         0  1,051.25   664.58\n"
        "total                                               1,051.25   664.58\n"
    )

    # A reversal brings the principal back; the same reference again is idempotent.
    args = ("loan", "reverse", "--bank", "ICBC", "--ref", "R1-X", "--reversal-of", "R1",
            "--on", "2025-09-06", "--contract", "ICBC-2025-001")  # fmt: skip
    assert ok(*args, actor="icbc") == "repayment R1 reversed by R1-X on 2025-09-06\n"
    assert ok(*args, actor="icbc") == (
        "repayment R1 reversed by R1-X on 2025-09-06 (already recorded)\n"
    )
    shown = ok("loan", "show", *LOAN1, "--as-of", "2025-10-01").splitlines()
    assert "outstanding        100,000.00 yuan" in shown
    assert "exposure           80,000.00 yuan" in shown
    assert shown[shown.index("repayments:") + 1 :][:3] == [
        "  ref   paid on     principal  interest  penalty",
        "  R1    2025-09-05  20,000.00      0.00     0.00  reversed by R1-X",
        "  R1-X  2025-09-06  20,000.00      0.00     0.00  reverses R1",
    ]

    assert ok("borrower", "show", ZHANG, "--on", "2025-10-01").splitlines()[:6] == [
        f"borrower           #1 张* {mask_id_number(ZHANG)}",
        "born               1990, male",
        "district           D01",
        "type               individual (个人)",
        "declared           registered_unemployed",
        "categories         registered_unemployed (登记失业人员) (on 2025-10-01)",
    ]


def test_compensation_recovery_and_write_off(fund, run):
    ok = fund
    ok("borrower", "add", "--id-number", WANG, "--name", "王五", "--district", "D01",
       "--category", "graduate", "--category", "veteran", actor="clerk")  # fmt: skip
    ok("guarantee", "approve", "--id-number", WANG, "--bank", "ICBC", "--amount", "50000",
       "--term", "12", "--on", "2025-01-12",
       "--counter-guarantee", "mortgage:60000:车辆抵押", actor="approver")  # fmt: skip
    ok("loan", "disburse", *LOAN2, "--guarantee", "G2025-ICBC-00001", "--name", "王五",
       "--id-number", WANG, "--disbursed-on", "2025-01-15", "--maturity-on", "2025-07-15",
       "--principal", "50000", "--rate", "4", "--method", "bullet", actor="icbc")  # fmt: skip
    assert ok("claim", "file", *LOAN2, "--on", "2025-10-20", actor="icbc") == (
        "claim C2025-ICBC-00001 filed on loan ICBC-2025-002: 97 days overdue, loss "
        "50,000.00 yuan, claim 40,000.00 yuan (80.00%)\n"
    )
    own = run("claim", "approve", "C2025-ICBC-00001", "--on", "2025-10-22", actor="icbc")
    assert own.exit_code == 1
    assert own.stderr.startswith("error: user icbc may not do this: it needs the approver role\n")
    assert ok("claim", "approve", "C2025-ICBC-00001", "--on", "2025-10-22",
              actor="approver") == (
        "claim C2025-ICBC-00001 approved on 2025-10-22: 40,000.00 yuan payable\n"
    )  # fmt: skip
    assert ok("claim", "pay", "C2025-ICBC-00001", "--on", "2025-10-25", actor="lead") == (
        "claim C2025-ICBC-00001 paid on 2025-10-25: 40,000.00 yuan\n"
    )
    assert ok("recovery", "record", *LOAN2, "--amount", "10000", "--on", "2025-11-01",
              "--reference", "法院执行", actor="clerk") == (
        "recovery 1 on 2025-11-01: 10,000.00 yuan, fund share 8,000.00, bank share 2,000.00\n"
    )  # fmt: skip
    assert ok("counter-guarantee", "enforce", "1", "--proceeds", "5000", "--on", "2025-11-10",
              actor="clerk") == (
        "counter-guarantee 1 enforced on 2025-11-10\n"
        "recovery 2 on 2025-11-10: 5,000.00 yuan, fund share 4,000.00, bank share 1,000.00\n"
    )  # fmt: skip
    assert ok("write-off", "request", *LOAN2, "--reason", "借款人失联", "--on", "2025-12-01",
              actor="clerk") == (
        "write-off 1 requested on loan ICBC-2025-002: 28,000.00 yuan\n"
    )  # fmt: skip
    refused = run("write-off", "reject", "1", "--reason", "x", "--on", "2025-12-02",
                  actor="clerk")  # fmt: skip
    assert refused.exit_code == 1
    # 28,000 pro rata to capital contributed: 5,000,000 / 2,000,000.50 / 600,000.
    out = ok("write-off", "approve", "1", "--on", "2025-12-03", actor="approver")
    assert out == (
        "write-off 1 approved on 2025-12-03: 28,000.00 yuan (pro_rata: city 7,368.42, "
        "district-D01 2,210.53, provincial 18,421.05)\n"
    )
    shown = ok("loan", "show", *LOAN2, "--as-of", "2025-12-31").splitlines()
    assert shown[0] == "loan ICBC-2025-002 at ICBC as of 2025-12-31: written_off (已核销)"
    assert "receivable         0.00 yuan" in shown
    assert "exposure           0.00 yuan" in shown
    assert shown[-15:] == [
        "claims:",
        "  C2025-ICBC-00001 paid: filed 2025-10-20, 97 days overdue, loss 50,000.00, "
        "amount 40,000.00 yuan, paid 2025-10-25",
        "recoveries:",
        "  2025-11-01 10,000.00 yuan from borrower: fund 8,000.00, bank 2,000.00 (法院执行)",
        "  2025-11-10 5,000.00 yuan from counter_guarantee: fund 4,000.00, bank 1,000.00 "
        "(counter-guarantee 1)",
        "counter-guarantees:",
        "  1 mortgage 60,000.00 yuan enforced 2025-11-10: 车辆抵押",
        # Entry 10 closes the counter-guarantee on the memorandum accounts, not the loan's.
        "entries:",
        "  id  date        kind                  amount",
        "   6  2025-01-15  loan.disbursement  40,000.00",
        "   7  2025-10-22  claim.approval     40,000.00",
        "   8  2025-10-25  claim.payment      40,000.00",
        "   9  2025-11-01  recovery            8,000.00",
        "  11  2025-11-10  recovery            4,000.00",
        "  12  2025-12-03  write-off          28,000.00",
    ]
    capital = ok("capital", "show", "--as-of", "2025-12-31").splitlines()
    assert capital[-1].split() == [
        "total", "7,600,000.50", "0.00", "28,000.00", "7,572,000.50", "1,000,000.00",
        "400,000.00", "400,000.00",
    ]  # fmt: skip
    banks = ok("report", "banks", "--as-of", "2025-12-31").splitlines()
    # Placed 2,000,000 less the 40,000 claim plus 12,000 recovered; 40,000 / 50,000 paid.
    assert banks[3].split() == [
        "ICBC", "1,972,000.00", "0.00", "0.00", "0.00x", "0.00x", "9,860,000.00", "(5x",
        "exposure)", "9,860,000.00", "5,916,000.00", "80.00%", "n/a",
    ]  # fmt: skip
    ok("borrower", "add", "--id-number", ZHANG, "--name", "张三", "--district", "D01",
       "--category", "registered_unemployed", actor="clerk")  # fmt: skip
    suspended = run("guarantee", "approve", "--id-number", ZHANG, "--bank", "ICBC",
                    "--amount", "1000", "--term", "12", "--on", "2025-12-31",
                    actor="approver")  # fmt: skip
    assert (suspended.exit_code, suspended.stderr) == (
        1,
        "error: new guarantees at bank ICBC are suspended: its compensation rate is 80.00%, "
        "over the 10.00% threshold (claims paid 40,000.00 yuan of 50,000.00 yuan guaranteed)\n"
        "错误：ICBC 代偿率 80.00% 超过 10.00%，暂停新增担保（已代偿 40,000.00 元，"
        "累计担保 50,000.00 元）\n",
    )


def test_cancel_waiver_withdraw_and_interest(fund, run):
    ok = fund
    ok("borrower", "add", "--id-number", ZHANG, "--name", "张三", "--district", "D01",
       "--category", "registered_unemployed", actor="clerk")  # fmt: skip
    assert ok("guarantee", "approve", "--id-number", ZHANG, "--bank", "ICBC", "--amount",
              "20000", "--term", "12", "--on", "2025-02-01", "--waiver",
              actor="approver") == (
        "commitment G2025-ICBC-00001 approved: 20,000.00 yuan for 12 months at ICBC\n"
    )  # fmt: skip
    assert ok("guarantee", "cancel", "G2025-ICBC-00001", "--reason", "借款人放弃",
              "--on", "2025-02-10", actor="clerk") == (
        "commitment G2025-ICBC-00001 cancelled on 2025-02-10: 借款人放弃\n"
    )  # fmt: skip
    assert ok("capital", "withdraw", "ICBC", "500000", "--on", "2025-03-01", actor="clerk") == (
        "withdrew 500,000.00 yuan from ICBC on 2025-03-01 (entry 5)\n"
    )
    too_much = run("capital", "withdraw", "ICBC", "1500000.01", "--on", "2025-03-02",
                   actor="clerk")  # fmt: skip
    assert (too_much.exit_code, too_much.stderr) == (
        1,
        "error: bank ICBC: the special account holds 1,500,000.00 yuan; cannot withdraw "
        "1,500,000.01 yuan\n"
        "错误：ICBC 专户余额 1,500,000.00 元，不足以调回 1,500,000.01 元\n",
    )
    assert ok("capital", "interest", "ICBC", "760.00", "--on", "2025-06-21", "--ref", "INT-1",
              actor="icbc") == (
        "interest 760.00 yuan at ICBC on 2025-06-21 (ref INT-1, entry 6): city 200.00, "
        "district-D01 60.00, provincial 500.00\n"
    )  # fmt: skip
    shown = ok("capital", "show", "--as-of", "2025-06-30").splitlines()
    assert shown[-1].split() == [
        "total", "7,600,000.50", "760.00", "0.00", "7,600,760.50", "1,000,000.00", "400,000.00",
        "0.00",
    ]  # fmt: skip


def test_policy_show_history_and_load(fund, run, tmp_path):
    ok = fund
    shown = ok("policy", "show", "--on", "2025-03-01").splitlines()
    assert shown[:2] == [
        "rules in force on 2025-03-01 (since 2021-01-01)",
        "sources: national:2021",
    ]
    rows = {line.split("  ")[0]: line.split("  ")[-1].strip() for line in shown[2:]}
    assert rows["coverage_ppm"] == "80.00%"
    assert rows["loan_limit_fen.individual"] == "200,000.00 yuan"
    assert rows["loan_limit_fen.partnership_max_heads"] == "10"
    assert rows["rate_cap.spread_bp"] == "300 bp"
    assert rows["rate cap on 2025-03-01"] == "6.10%"
    policy = tmp_path / "local.toml"
    policy.write_text(
        '[[override]]\neffective_from = 2099-01-01\nnote = "市人社局文件"\n'
        "coverage_ppm = 700_000\nleverage = { high = 8 }\n",
        encoding="utf-8",
    )
    refused = run("policy", "load", str(policy), actor="clerk")
    assert (refused.exit_code, refused.stderr) == (
        1,
        "error: user clerk may not do this: it needs the admin role\n"
        "错误：用户 clerk 无权执行此操作：需要管理员角色\n",
    )
    assert ok("policy", "load", str(policy), actor="admin") == (
        "override 1 in force from 2099-01-01: coverage_ppm, leverage\n"
    )
    assert ok("policy", "history").splitlines()[-2:] == [
        "2021-01-01  national:2021",
        "2099-01-01  local:2099-01-01",
    ]
    later = ok("policy", "show", "--on", "2099-06-30").splitlines()
    assert later[1] == "sources: national:2021, local:2099-01-01"
    assert ["coverage_ppm", "70.00%"] in [line.split() for line in later]
    assert ["leverage.high", "8"] in [line.split() for line in later]
    assert ["counter_guarantee.max_loans_per_guarantor", "1"] in [line.split() for line in later]
    # A rule of the past is recorded with its real date only when said so.
    past = tmp_path / "past.toml"
    past.write_text(
        '[[override]]\neffective_from = 2020-07-01\nnote = "市政府 2020 年第 7 号文"\n'
        "coverage_ppm = 750_000\n",
        encoding="utf-8",
    )
    refused = run("policy", "load", str(past), actor="admin")
    assert refused.exit_code == 1
    assert refused.stderr.startswith("error: an override may not be backdated: 2020-07-01 is")
    assert ok("policy", "load", str(past), "--backdated", actor="admin") == (
        "override 2 in force from 2020-07-01: coverage_ppm\n"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("capital", "allocate", "city", "1.001", "--received-on", "2025-01-04"),
            "Invalid value for 'YUAN': not an amount of yuan with at most 2 decimals: '1.001'",
        ),
        (
            ("capital", "place", "ICBC", "100", "--on", "2025-13-01"),
            "Invalid value for '--on': '2025-13-01' is not a date (YYYY-MM-DD)",
        ),
        (
            ("loan", "disburse", *LOAN1, "--guarantee", "G", "--name", "张三",
             "--id-number", ZHANG, "--disbursed-on", "2025-03-05",
             "--maturity-on", "2026-03-05", "--principal", "100000", "--rate", "4.35001",
             "--method", "bullet"),
            "Invalid value for '--rate': '4.35001' is not a rate in percent with at most "
            "4 decimals (e.g. 4.35 for 4.35%)",
        ),
        (
            ("loan", "disburse", *LOAN1, "--guarantee", "G", "--name", "张三",
             "--id-number", ZHANG, "--disbursed-on", "2025-03-05",
             "--maturity-on", "2026-03-05", "--principal", "100000", "--rate", "4.35",
             "--method", "monthly"),
            "Invalid value for '--method': unknown repayment method 'monthly'",
        ),
        (
            ("borrower", "add", "--id-number", ZHANG, "--name", "张三", "--district", "D01",
             "--category", "失业"),
            "Invalid value for '--category': Unknown borrower category '失业'",
        ),
        (
            ("guarantee", "approve", "--id-number", ZHANG, "--bank", "ICBC", "--amount", "1",
             "--term", "12", "--on", "2025-03-01", "--counter-guarantee", "mortgage:1"),
            "write KIND:VALUE_YUAN:DESCRIPTION",
        ),
        (
            ("user", "add", "bob", "Bob", "--role", "boss"),
            "Invalid value for '--role': 'boss' is not one of",
        ),
    ],
)  # fmt: skip
def test_bad_option_values_are_usage_errors(run, args, message):
    result = run(*args, actor="admin")
    assert result.exit_code == 2
    assert message in " ".join(result.stderr.split())


def test_first_user_only_by_system(ok, run):
    refused = run("user", "add", "admin", "管理员", "--role", "admin", actor="someone")
    assert (refused.exit_code, refused.stderr) == (
        1,
        "error: user someone does not exist or is inactive\n错误：用户 someone 不存在或已停用\n",
    )
    ok("user", "add", "admin", "管理员", "--role", "admin", actor="system")
    # The scheduler's principal bootstraps an empty database and is no admin after that.
    again = run("user", "add", "other", "其他", "--role", "clerk", actor="system")
    assert (again.exit_code, again.stderr) == (
        1,
        "error: user system may not do this: it needs the admin role\n"
        "错误：用户 system 无权执行此操作：需要管理员角色\n",
    )


def test_actor_from_environment(ok, run, monkeypatch):
    ok("user", "add", "admin", "管理员", "--role", "admin", actor="system")
    monkeypatch.setenv("FUNDLEDGER_ACTOR", "admin")
    assert ok("district", "add", "D02", "城西区") == "district D02 added: 城西区\n"
    monkeypatch.setenv("FUNDLEDGER_ACTOR", "nobody")
    result = run("district", "add", "D03", "新河县")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: user nobody does not exist or is inactive\n")


def test_lists_page_filter_and_refuse_what_they_cannot_list(portfolio, ok, run):
    assert ok("loan", "list", "--limit", "2").splitlines() == [
        "id  bank  contract  borrower  ID number           district  principal  outstanding"
        "   rate  disbursed   maturity    status",
        " 6  ABC   ABC-002   孙*       1101**********061X  D02       60,000.00    60,000.00"
        "  4.50%  2025-06-01  2026-12-01  active",
        " 5  ICBC  ICBC-004  赵*       1101**********0515  D03       30,000.00         0.00"
        "  4.50%  2025-05-01  2025-11-01  repaid",
        "next page: --before 5",
    ]
    active = ok("loan", "list", "--bank", "ICBC", "--status", "active", "--before", "4")
    assert [line.split()[:3] for line in active.splitlines()[1:]] == [
        ["3", "ICBC", "ICBC-002"],
        ["1", "ICBC", "ICBC-001"],
    ]
    assert "next page" not in active
    window = ok("loan", "list", "--district", "D01", "--disbursed-from", "2025-04-01",
                "--disbursed-to", "2025-04-30")  # fmt: skip
    assert [line.split()[0] for line in window.splitlines()[1:]] == ["4", "3"]
    assert ok("loan", "list", "--bank", "BOC") == ""

    assert ok("borrower", "list", "--category", "veteran", "--limit", "2").splitlines() == [
        "id  ID number           name  district  type        categories",
        " 4  1101**********0417  周*   D01       individual  veteran",
        " 3  1101**********0310  王*   D01       individual  graduate, veteran",
        "next page: --before 3",
    ]
    assert ok(
        "borrower", "list", "--district", "D02", "--before", "3", "--unmasked", actor="clerk"
    ).splitlines()[1:] == [" 2  110105199005170214  李四  D02       individual  veteran"]

    assert ok("claim", "list", "--bank", "ABC").splitlines() == [
        "id  number           bank  contract  borrower  filed       days       loss     amount"
        "  status    filed by  decided by  paid",
        " 2  C2025-ABC-00002  ABC   ABC-001   李*       2025-07-12    93  50,000.00  40,000.00"
        "  paid      abc       approver    2025-07-15",
        " 1  C2025-ABC-00001  ABC   ABC-001   李*       2025-07-10    91  50,000.00  40,000.00"
        "  rejected  abc       approver    -",
    ]
    waiting = ok("claim", "list", "--status", "filed", "--filed-from", "2025-08-01")
    assert [line.split()[1] for line in waiting.splitlines()[1:]] == ["C2025-ICBC-00003"]

    assert ok("capital", "allocations", "--limit", "2").splitlines() == [
        "id  source       yuan  received    reference        status    recorded by  decided by",
        " 6  other   10,000.00  2025-06-02  -                rejected  clerk        approver",
        " 5  city    50,000.00  2025-06-01  财字〔2025〕9号  pending   clerk        -",
        "next page: --before 5",
    ]
    early = ok("capital", "allocations", "--source", "city", "--status", "approved",
               "--received-to", "2025-01-31")  # fmt: skip
    assert [line.split()[:3] for line in early.splitlines()[1:]] == [["2", "city", "2,000,000.00"]]

    for args, message in (
        (("loan", "list", "--status", "overdue"),
         "Error: unknown loan status 'overdue'; use one of: active, repaid, claimed, "
         "written_off, recovered"),
        (("claim", "list", "--limit", "0"), "Error: a page holds 1 to 1000 rows, not 0"),
        (("borrower", "list", "--category", "boss"),
         "Error: unknown borrower category 'boss'"),
        (("capital", "allocations", "--received-from", "2025-02-01", "--received-to",
          "2025-01-01"),
         "Error: the receipt date range ends (2025-01-01) before it starts (2025-02-01)"),
    ):  # fmt: skip
        refused = run(*args)
        assert (refused.exit_code, refused.stdout) == (2, ""), refused.output
        assert message in refused.stderr


def test_the_lists_sort_and_print_the_sorted_next_page(portfolio, ok, run):
    from ledger.paging import Cursor

    first = ok("loan", "list", "--sort", "-maturity", "--limit", "2").splitlines()
    # ICBC-003 (id 4) and ICBC-002 (3) both mature on 2026-04-01: the higher id first.
    assert [line.split()[:3] for line in first[1:3]] == [
        ["6", "ABC", "ABC-002"], ["4", "ICBC", "ICBC-003"]
    ]  # fmt: skip
    cursor = Cursor("-maturity", "2026-04-01", 4).token()
    assert first[3] == f"next page: --sort -maturity --after {cursor}"
    second = ok("loan", "list", "--sort=-maturity", "--after", cursor, "--limit", "2")
    assert [line.split()[2] for line in second.splitlines()[1:3]] == ["ICBC-002", "ABC-001"]
    by_amount = ok("claim", "list", "--sort", "amount", "--bank", "ICBC")
    assert [line.split()[1] for line in by_amount.splitlines()[1:]] == [
        "C2025-ICBC-00002", "C2025-ICBC-00001", "C2025-ICBC-00003"
    ]  # fmt: skip
    oldest = ok("capital", "allocations", "--sort", "received_on", "--limit", "1")
    assert oldest.splitlines()[1].split()[:2] == ["1", "provincial"]
    for args, message in (
        (("loan", "list", "--sort", "rate"),
         "Error: unknown sort 'rate'; sort by one of: id, disbursed_on, principal, maturity, "
         "contract_no (ascending; with a leading - descending)"),
        (("loan", "list", "--sort", "principal", "--after", cursor),
         "Error: the cursor was made for sort '-maturity', not 'principal': send it with "
         "the sort it came with"),
    ):  # fmt: skip
        refused = run(*args)
        assert (refused.exit_code, refused.stdout) == (2, ""), refused.output
        assert message in " ".join(refused.stderr.split())


def test_a_certificate_is_registered_shown_and_revoked(fund, run):
    ok = fund
    ok("borrower", "add", "--id-number", ZHANG, "--name", "张三", "--district", "D01",
       "--category", "registered_unemployed", actor="clerk")  # fmt: skip
    assert ok("borrower", "certificate", "add", ZHANG, "--number", "0301-004217",
              "--issued-by", "郑州市劳动局", "--issued-on", "2003-03-10", actor="clerk") == (
        "reemployment_certificate 0301-004217 registered to borrower #1\n"
    )  # fmt: skip
    again = run("borrower", "certificate", "add", ZHANG, "--number", "0301-004217",
                "--issued-by", "郑州市劳动局", "--issued-on", "2003-03-10",
                actor="clerk")  # fmt: skip
    assert (again.exit_code, again.stderr) == (
        1,
        "error: reemployment_certificate 0301-004217 is already registered to this borrower; "
        "one certificate belongs to one person\n"
        "错误：再就业优惠证 0301-004217 已登记在该借款人名下，一证只能属于一人\n",
    )
    assert ok("borrower", "certificate", "revoke", "0301-004217", "--on", "2004-01-05",
              "--reason", "已就业", actor="approver") == (
        "reemployment_certificate 0301-004217 revoked on 2004-01-05\n"
    )  # fmt: skip
    shown = ok("borrower", "show", ZHANG, "--on", "2025-10-01").splitlines()
    assert (
        "certificate        reemployment_certificate 0301***4217, 郑州市劳动局, issued "
        "2003-03-10, revoked 2004-01-05 (已就业)"
    ) in shown
    whole = ok("borrower", "show", ZHANG, "--on", "2025-10-01", "--unmasked", actor="clerk")
    assert (
        "certificate        reemployment_certificate 0301-004217, 郑州市劳动局, issued "
        "2003-03-10, revoked 2004-01-05 (已就业)"
    ) in whole.splitlines()


def test_project_trade_subsidy_split_and_guarantee_fee(fund, run, tmp_path):
    ok = fund
    # The locality charges a guarantee fee of 1 % a year and has central finance pay half
    # of an individual's subsidy, both from 2025-01-01 (recorded with their real date).
    local = tmp_path / "local.toml"
    local.write_text(
        '[[override]]\neffective_from = 2025-01-01\nnote = "市财政局 2024 年第 30 号文"\n'
        "guarantee_fee = { rate_ppm = 10_000 }\n"
        "subsidy = { central_share_ppm = { individual = 500_000 } }\n",
        encoding="utf-8",
    )
    assert ok("policy", "load", str(local), "--backdated", actor="admin") == (
        "override 1 in force from 2025-01-01: guarantee_fee, subsidy\n"
    )
    ok(
        "borrower", "add", "--id-number", ZHANG, "--name", "张三", "--district", "D01",
        "--category", "登记失业人员", actor="clerk",
    )  # fmt: skip
    approve = (
        "guarantee", "approve", "--id-number", ZHANG, "--bank", "ICBC", "--amount", "100000",
        "--term", "12", "--on", "2025-03-01", "--project", "micro_profit",
    )  # fmt: skip
    refused = run(*approve, "--trade", "casino", actor="approver")
    assert (refused.exit_code, refused.stderr) == (
        1,
        "error: unknown trade 'casino': use a trade code of the policy file's catalogue\n"
        "错误：未知的行业代码 'casino'，请使用政策文件行业目录中的代码\n",
    )
    assert ok(*approve, "--trade", "catering", actor="approver") == (
        "commitment G2025-ICBC-00001 approved: 100,000.00 yuan for 12 months at ICBC\n"
    )
    ok(
        "loan", "disburse", *LOAN1, "--guarantee", "G2025-ICBC-00001", "--name", "张三",
        "--id-number", ZHANG, "--disbursed-on", "2025-03-05", "--maturity-on", "2026-03-05",
        "--principal", "100000", "--rate", "4.35", "--method", "bullet", actor="icbc",
    )  # fmt: skip
    ok(
        "loan", "repay", "--bank", "ICBC", "--ref", "R1", "--contract", "ICBC-2025-001",
        "--paid-on", "2025-05-31", "--principal", "20000", "--interest", "0", actor="icbc",
    )  # fmt: skip
    shown = ok("loan", "show", *LOAN1, "--as-of", "2025-06-30").splitlines()
    assert (
        shown[3]
        == "project            micro_profit (微利项目), trade catering (餐饮服务（含小饭桌）)"
    )
    # Q2: 61 days of 100,000 and 30 of 80,000 at 4.35 % − (LPR 3.10 % − 1.50 %) = 2.75 %:
    # 649.31 yuan, half each to central and local finance (324.655: 324.66 and 324.65).
    assert ok("report", "subsidy", "--bank", "ICBC", "--year", "2025", "--quarter", "2") == (
        "interest subsidy ICBC 2025Q2: 1 loans (yuan)\n"
        "contract       days  subsidised  overdue  extended  interest  subsidy  central   local\n"
        "ICBC-2025-001    91          91        0         0  1,027.08   649.31   324.66  324.65\n"
        "total                                               1,027.08   649.31   324.66  324.65\n"
    )
    # The fee due: (6,100,000 + 2,400,000) × 1 % / 365 = 232.88 yuan.
    assert ok("report", "fees", "--from", "2025-04-01", "--to", "2025-06-30") == (
        "guarantee fees 2025-04-01 to 2025-06-30: 1 loans (yuan)\n"
        "bank   contract        rate  days     fee\n"
        "ICBC   ICBC-2025-001  1.00%    91  232.88\n"
        "total                              232.88\n"
    )
    args = ("capital", "fee", "232.88", "--on", "2025-07-10", "--ref", "财社〔2025〕担保费1号",
            "--from", "2025-04-01", "--to", "2025-06-30")  # fmt: skip
    refused = run(*args, actor="icbc")
    assert refused.exit_code == 1
    assert refused.stderr.startswith("error: user icbc may not do this")
    # Split pro rata to the contributed 5,000,000 : 2,000,000.50 : 600,000 yuan.
    assert ok(*args, actor="clerk") == (
        "guarantee fee 232.88 yuan in the treasury on 2025-07-10 for 2025-04-01 to 2025-06-30 "
        "(ref 财社〔2025〕担保费1号, entry 7): city 61.28, district-D01 18.39, provincial 153.21\n"
    )
    shown = ok("capital", "show", "--as-of", "2025-07-10").splitlines()
    assert shown[-1].split()[:4] == ["total", "7,600,000.50", "232.88", "0.00"]
