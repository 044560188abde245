"""Make the checked-in bank files of the bank-file tests, byte for byte the same each run.

Run from the repository root::

    .venv/bin/python tests/bankfiles/files/make_files.py

The files look like what partner banks send: CSV in UTF-8 with a BOM, without one, or
in GBK; XLSX with date cells, numbers and formula cells (with and without the values a
spreadsheet program computes and stores). They name the borrowers, commitments and
loans of ``tests/bankfiles/conftest.py``; the tests state, next to each assertion, what
each row is meant to provoke.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import sys
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.bankfiles.conftest import BY_SERIAL, commitment_no  # noqa: E402

D = dt.date
#: Zip entries and workbook properties carry this time, so XLSX bytes never change.
FIXED = (2025, 1, 1, 0, 0, 0)
FIXED_ISO = "2025-01-01T00:00:00Z"


def idn(serial: int) -> str:
    return BY_SERIAL[serial].id_number


def bad_check_digit(serial: int) -> str:
    number = idn(serial)
    wrong = "0" if number[-1] != "0" else "1"
    return number[:-1] + wrong


def name(serial: int) -> str:
    return BY_SERIAL[serial].name


# ------------------------------------------------------------------------ writers


def write_csv(filename: str, rows: list[list], encoding: str = "utf-8") -> None:
    """Rows as CSV with CRLF line ends (as bank exports have them)."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    data = out.getvalue().encode(encoding)
    (HERE / filename).write_bytes(data)


def write_xlsx(filename: str, rows: list[list], values: dict[str, str] | None = None) -> None:
    """Rows as the first sheet of a workbook. ``values`` (cell → text) are the computed
    values stored with formula cells, as a spreadsheet program does on saving; without
    them the formula cells hold no value."""
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Sheet1"
    for row in rows:
        sheet.append(row)
    for cells in sheet.iter_rows():
        for cell in cells:
            if isinstance(cell.value, dt.date):
                cell.number_format = "yyyy-mm-dd"
    buffer = io.BytesIO()
    book.save(buffer)
    _rezip(HERE / filename, buffer.getvalue(), values or {})


def _rezip(path: Path, data: bytes, values: dict[str, str]) -> None:
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                text = content.decode()
                text = re.sub(
                    r"(<dcterms:(created|modified)[^>]*>)[^<]*", rf"\g<1>{FIXED_ISO}", text
                )
                content = text.encode()
            if info.filename == "xl/worksheets/sheet1.xml" and values:
                text = content.decode()
                for ref, value in values.items():
                    text, n = re.subn(
                        rf'(<c r="{ref}"[^>]*><f>[^<]*</f>)<v ?/>', rf"\g<1><v>{value}</v>", text
                    )
                    assert n == 1, f"no formula cell {ref}"
                content = text.encode()
            entry = zipfile.ZipInfo(info.filename, date_time=FIXED)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            target.writestr(entry, content)
    path.write_bytes(out.getvalue())


# ------------------------------------------------------------------------ disbursements

DISB_HEADER_ZH = ["序号", "贷款合同号", "借款人姓名", "身份证号", "担保承诺号", "放款金额",
                  "年利率", "还款方式", "放款日期", "到期日期"]  # fmt: skip
DISB_HEADER_EN = ["contract_no", "guarantee_no", "borrower_name", "id_number", "disbursed_on",
                  "maturity_on", "principal", "annual_rate", "repayment_method"]  # fmt: skip


def disbursements() -> None:
    # ICBC, GBK, Chinese headers in the bank's own order with a column the fund ignores;
    # full-width digits, ¥, a lower-case x in an ID number, three date styles.
    write_csv(
        "icbc_disbursement_gbk.csv",
        [
            DISB_HEADER_ZH,
            [
                "1",
                "GH2025-0004",
                name(4),
                idn(4),
                commitment_no(4),
                "１００，０００．００",
                "4.35",
                "按月等额本息",
                "2025/4/1",
                "2027/4/1",
            ],
            [
                "2",
                "GH2025-0005",
                name(5),
                idn(5),
                commitment_no(5),
                "￥60,000.00",
                "3.85%",
                "到期一次还本付息",
                "20250402",
                "20260402",
            ],
            [
                "3",
                " GH2025-0006 ",
                name(6),
                idn(6).lower(),
                commitment_no(6),
                "80,000",
                "4.2",
                "按月等额本金",
                "2025年4月3日",
                "2027年4月3日",
            ],
        ],
        encoding="gbk",
    )
    # ICBC again after the file above: GH2025-0004 repeated with the same content written
    # differently (skipped), and a new loan.
    write_csv(
        "icbc_disbursement_more.csv",
        [
            DISB_HEADER_EN,
            [
                "GH2025-0004",
                commitment_no(4),
                name(4),
                idn(4),
                "2025-04-01",
                "2027-04-01",
                "100000",
                "4.3500",
                "annuity",
            ],
            [
                "GH2025-0007",
                commitment_no(7),
                name(7),
                idn(7),
                "2025-04-10",
                "2026-04-10",
                "50,000.00",
                "4",
                "bullet",
            ],
        ],
    )
    # ICBC, every row wrong in its own way (UTF-8 without BOM, English headers).
    ok = dict(on="2025-04-02", due="2026-04-02", rate="4.35", method="到期一次还本付息")

    def row(contract, serial, guarantee=None, *, who=None, number=None, principal="50000.00",
            on=ok["on"], due=ok["due"], rate=ok["rate"], method=ok["method"]):  # fmt: skip
        return [contract, guarantee or commitment_no(serial), who or name(serial),
                number or idn(serial), on, due, principal, rate, method]  # fmt: skip

    write_csv(
        "icbc_disbursement_dirty.csv",
        [
            DISB_HEADER_EN,
            row("GH2025-0101", 4, "G2025-ICBC-00099"),  # 2: unknown commitment
            row("GH2025-0102", 4, number=bad_check_digit(4)),  # 3: bad check digit
            row("GH2025-0103", 4, who="刘阳"),  # 4: name does not match
            row("GH2025-0104", 5, principal="60,000.01"),  # 5: over the approved amount
            row("GH2025-0105", 6, rate="7.5"),  # 6: over the rate cap
            row("GH2025-0106", 7, due="2025-03-01"),  # 7: matures before disbursement
            row("GH2025-0001", 1, principal="99,999.00"),  # 8: contract posted, other content
            row("GH2025-0107", 1),  # 9: commitment used by GH2025-0001
            row("GH2025-0108", 7, method="等额本息"),  # 10: no such method
            row("GH2025-0109", 10),  # 11: an ABC commitment
            row("GH2025-0110", 7, on="2026-12-01", due="2027-12-01"),  # 12: in the future
            row("GH2025-0111", 7, principal="50000.001"),  # 13: three decimals
        ],
    )
    # ABC, XLSX with date cells, numbers in number cells, the rate a float.
    write_xlsx(
        "abc_disbursement_dates.xlsx",
        [
            [
                "贷款合同号",
                "担保承诺号",
                "借款人姓名",
                "身份证号",
                "放款日期",
                "到期日期",
                "放款金额",
                "年利率",
                "还款方式",
            ],
            [
                "NH-25-003",
                commitment_no(10),
                name(10),
                idn(10),
                D(2025, 4, 8),
                D(2026, 4, 8),
                100000,
                4.35,
                "按月付息到期还本",
            ],
            [
                "NH-25-004",
                commitment_no(11),
                name(11),
                idn(11),
                dt.datetime(2025, 4, 9),
                dt.datetime(2026, 4, 9),
                99999.99,
                3.9,
                "按月等额本息",
            ],
        ],
    )
    # ABC, UTF-8 with BOM: five loans of 100,000 yuan; the fifth breaks the leverage cap.
    write_csv(
        "abc_disbursement_leverage.csv",
        [DISB_HEADER_ZH]
        + [
            [
                str(n),
                f"NH-25-1{n:02d}",
                name(serial),
                idn(serial),
                commitment_no(serial),
                "100,000.00",
                "4.35",
                "到期一次还本付息",
                "2025-04-15",
                "2026-04-15",
            ]
            for n, serial in enumerate(range(10, 15), 1)
        ],
        encoding="utf-8-sig",
    )


# ------------------------------------------------------------------------ repayments

REP_HEADER_ZH = ["银行流水号", "贷款合同号", "身份证号", "还款日期", "归还本金", "归还利息",
                 "罚息", "本金余额", "冲正原流水号", "备注"]  # fmt: skip
REP_HEADER_EN = ["bank_ref", "contract_no", "paid_on", "principal", "interest", "penalty",
                 "balance_after", "reversal_of"]  # fmt: skip


def repayments() -> None:
    # ICBC's first repayment file: UTF-8 with BOM. GH2025-0002's 06-15 row comes before
    # its 05-15 row: its balance (70,000.01) holds only in date order.
    write_csv(
        "icbc_repayment_bom.csv",
        [
            REP_HEADER_ZH,
            [
                "ICBC-R-0001",
                "GH2025-0002",
                idn(2),
                "2025-04-15",
                "3,333.33",
                "290.00",
                "",
                "76,666.67",
                "",
                "4月",
            ],
            [
                "ICBC-R-0002",
                "GH2025-0001",
                "",
                "2025-04-10",
                "0",
                "362.50",
                "",
                "100,000.00",
                "",
                "付息",
            ],
            [],
            [
                "ICBC-R-0004",
                "GH2025-0002",
                idn(2),
                "2025-06-15",
                "3,333.33",
                "278.00",
                "",
                "70,000.01",
                "",
                "",
            ],
            [
                "ICBC-R-0003",
                "GH2025-0002",
                idn(2),
                "2025-05-15",
                "3333.33",
                "280",
                "",
                "73,333.34",
                "",
                "5月",
            ],
            [
                "ICBC-R-0005",
                "GH2025-0001",
                idn(1),
                "2025/5/10",
                "１０，０００．００",
                "３６２．５０",
                "12.34",
                "90,000.00",
                "",
                "提前还款",
            ],
            [
                "ICBC-R-0006",
                "GH2025-0003",
                "",
                "2025年6月30日",
                "¥5,000.00",
                "900",
                "0",
                "45000",
                "",
                "",
            ],
        ],
        encoding="utf-8-sig",
    )
    # ICBC's second file, in GBK: two rows repeat the first file (skipped), a reversal
    # (冲正) of ICBC-R-0006, and new repayments.
    write_csv(
        "icbc_repayment_second_gbk.csv",
        [
            REP_HEADER_ZH,
            [
                "ICBC-R-0001",
                "GH2025-0002",
                idn(2),
                "2025-04-15",
                "3333.33",
                "290",
                "",
                "76666.67",
                "",
                "重复",
            ],
            [
                "ICBC-R-0005",
                "GH2025-0001",
                idn(1),
                "2025-05-10",
                "10000",
                "362.5",
                "12.34",
                "90000",
                "",
                "重复",
            ],
            [
                "ICBC-R-0009",
                "GH2025-0003",
                idn(3),
                "2025-07-05",
                "5,000.00",
                "900.00",
                "",
                "50,000.00",
                "ICBC-R-0006",
                "冲正",
            ],
            [
                "ICBC-R-0010",
                "GH2025-0003",
                idn(3),
                "2025-07-31",
                "20,000.00",
                "180.00",
                "",
                "30,000.00",
                "",
                "",
            ],
            [
                "ICBC-R-0011",
                "GH2025-0002",
                idn(2),
                "2025-07-15",
                "3,333.33",
                "265.00",
                "",
                "66,666.68",
                "",
                "",
            ],
        ],
        encoding="gbk",
    )
    # ICBC, after icbc_repayment_bom.csv: every row but one is wrong.
    write_csv(
        "icbc_repayment_dirty.csv",
        [
            [
                "bank_ref",
                "contract_no",
                "id_number",
                "paid_on",
                "principal",
                "interest",
                "penalty",
                "balance_after",
                "reversal_of",
            ],
            ["ICBC-R-0101", "GH2099-9999", "", "2025-07-01", "100.00", "0", "", "0", ""],
            [
                "ICBC-R-0102",
                "GH2025-0001",
                "",
                "2025-07-10",
                "1,000.00",
                "362.50",
                "",
                "98,000.00",
                "",
            ],
            ["ICBC-R-0103", "GH2025-0003", "", "2025-07-10", "45,000.01", "0", "", "0", ""],
            [
                "ICBC-R-0104",
                "GH2025-0002",
                "",
                "2025-07-15",
                "0",
                "0",
                "",
                "70,000.01",
                "ICBC-R-9999",
            ],
            [
                "ICBC-R-0105",
                "GH2025-0002",
                bad_check_digit(2),
                "2025-07-15",
                "100.00",
                "0",
                "",
                "69,900.01",
                "",
            ],
            [
                "ICBC-R-0001",
                "GH2025-0002",
                "",
                "2025-04-15",
                "3,333.34",
                "290.00",
                "",
                "76,666.66",
                "",
            ],
            ["ICBC-R-0106", "GH2025-0001", "", "2026-12-15", "100.00", "0", "", "89,900.00", ""],
            ["ICBC-R-0107", "GH2025-0001", "", "2025-07-20", "1.5E3", "-5.00", "", "88,500.00", ""],
            ["ICBC-R-0108", "GH2025-0001", "", "2025-07-20", "100.005", "0", "", "89,899.995", ""],
            ["ICBC-R-0109", "GH2025-0001", "", "", "100.00", "0", "", "89,900.00", ""],
            [
                "ICBC-R-0110",
                "GH2025-0001",
                "",
                "2025-07-20",
                "500.00",
                "362.50",
                "",
                "89,500.00",
                "",
            ],
            ["ICBC-R-0111", "GH2025-0001", "", "2025-02-30", "100.00", "0", "", "89,400.00", ""],
            ["ICBC-R-0112", "GH2025-0001", "", "2025-03-01", "0", "100.00", "", "90,000.00", ""],
        ],
    )
    # ICBC, after icbc_repayment_bom.csv, from an export without the optional penalty
    # column: the reversal of ICBC-R-0005 (10,000.00 principal, 362.50 interest, 12.34
    # penalty).
    write_csv(
        "icbc_repayment_reversal_no_penalty.csv",
        [
            ["bank_ref", "contract_no", "paid_on", "principal", "interest", "balance_after",
             "reversal_of"],
            ["ICBC-R-0301", "GH2025-0001", "2025-05-12", "10,000.00", "362.50", "100,000.00",
             "ICBC-R-0005"],
        ],
    )  # fmt: skip
    # ICBC, repayments of the loans icbc_disbursement_gbk.csv creates.
    write_csv(
        "icbc_repayment_newloans.csv",
        [
            REP_HEADER_EN,
            ["ICBC-R-0201", "GH2025-0004", "2025-05-01", "3,800.00", "362.50", "", "96,200.00", ""],
            ["ICBC-R-0202", "GH2025-0006", "2025-05-03", "3,333.33", "280.00", "", "76,666.67", ""],
        ],
    )
    # ABC, XLSX: balances and a penalty are formulas.
    rows = [
        ["Bank_Ref", "CONTRACT_NO", "Paid_On", "Principal", "Interest", "Balance_After",
         "Penalty"],
        ["ABC-20250420-001", "NH-25-001", D(2025, 4, 20), 4000, 362.5, "=100000-D2", "=0"],
        ["ABC-20250420-002", "NH-25-002", D(2025, 4, 20), 2500.5, 362.5, "=100000-D3", 0],
        ["ABC-20250520-001", "NH-25-001", D(2025, 5, 20), 4000, 348, "=F2-D4", None],
    ]  # fmt: skip
    write_xlsx(
        "abc_repayment_formulas.xlsx",
        rows,
        {"F2": "96000", "G2": "0", "F3": "97499.5", "F4": "92000"},
    )
    write_xlsx("abc_repayment_formulas_nocache.xlsx", rows)
    # ABC's repayments sent under ICBC's name by mistake: 70 rows, every one an error
    # (more error lines than one INSERT of the receipt's errors takes).
    write_csv(
        "icbc_repayment_wrong_bank.csv",
        [REP_HEADER_EN]
        + [
            [
                f"ABC-2025{5 + n // 35:02d}{1 + n % 35 // 2:02d}-{n:03d}",
                f"NH-25-00{1 + n % 2}",
                f"2025-{5 + n // 35:02d}-{1 + n % 35 // 2:02d}",
                "100.00",
                "36.25",
                "",
                _yuan(10_000_000 - 10_000 * (1 + n // 2)),
                "",
            ]
            for n in range(70)
        ],
    )
    # ICBC, 20 rows over three loans, each loan's rows spread around the file and some
    # out of date order (for the chunking test).
    write_csv("icbc_repayment_chunks.csv", [REP_HEADER_EN, *chunk_rows()])


def chunk_rows() -> list[list]:
    plans = {
        "A": ("GH2025-0001", 10_000_000,
              [(D(2025, 4, 10), 0, 36_250), (D(2025, 5, 10), 100_000, 36_250),
               (D(2025, 6, 10), 0, 35_888), (D(2025, 6, 30), 250_050, 35_888),
               (D(2025, 7, 10), 0, 34_982), (D(2025, 8, 10), 100_000, 34_982),
               (D(2025, 9, 10), 120_000, 34_620)]),
        "B": ("GH2025-0002", 8_000_000,
              [(D(2025, 4, 15), 333_333, 28_000), (D(2025, 5, 15), 333_333, 26_833),
               (D(2025, 6, 15), 333_333, 25_667), (D(2025, 7, 15), 333_333, 24_500),
               (D(2025, 8, 15), 333_333, 23_333), (D(2025, 9, 15), 333_333, 22_167),
               (D(2025, 10, 15), 333_333, 21_000)]),
        "C": ("GH2025-0003", 5_000_000,
              [(D(2025, 4, 30), 100_000, 16_042), (D(2025, 5, 31), 100_000, 15_721),
               (D(2025, 6, 30), 100_000, 15_400), (D(2025, 7, 31), 100_000, 15_079),
               (D(2025, 8, 31), 100_000, 14_758), (D(2025, 9, 30), 100_000, 14_438)]),
    }  # fmt: skip
    lines = {}
    for letter, (contract, principal, payments) in plans.items():
        balance, made = principal, []
        for k, (on, paid, interest) in enumerate(payments, 1):
            balance -= paid
            made.append(
                [f"CH-{letter}-{k:02d}", contract, on.isoformat(), _yuan(paid), _yuan(interest),
                 "", _yuan(balance), ""]
            )  # fmt: skip
        # Each loan's third and fourth payments swap places in the file.
        made[2], made[3] = made[3], made[2]
        lines[letter] = made
    order = "ABCBACABCCBAABCABCBA"
    taken = dict.fromkeys(lines, 0)
    out = []
    for letter in order:
        out.append(lines[letter][taken[letter]])
        taken[letter] += 1
    assert all(taken[k] == len(v) for k, v in lines.items())
    return out


def _yuan(fen: int) -> str:
    return f"{fen // 100:,}.{fen % 100:02d}"


# ------------------------------------------------------------------------ balances, statement


def balances() -> None:
    header = ["余额日期", "贷款合同号", "本金余额", "逾期本金", "逾期天数"]
    write_csv(
        "icbc_balances_0630.csv",
        [
            header,
            ["2025-06-30", "GH2025-0001", "90,000.00", "0", "0"],
            ["2025-06-30", "GH2025-0002", "70,000.01", "", ""],
            ["2025-06-30", "GH2025-0003", "４５，０００．００", "5,000.00", "３５"],
            ["2025-06-30", "GH2024-0999", "12,345.67", "", ""],  # not the fund's loan
        ],
    )
    # Sent again: a repeat (skipped), a different balance for a reported day (error), a
    # day in the future (error), a new month, and a row that contradicts an earlier row of
    # the same file.
    write_csv(
        "icbc_balances_resend.csv",
        [
            header,
            ["2025-06-30", "GH2025-0001", "90000", "0", "0"],
            ["2025-06-30", "GH2025-0002", "70,000.00", "", ""],
            ["2026-12-31", "GH2025-0001", "89,000.00", "", ""],
            ["2025-07-31", "GH2025-0001", "89,000.00", "", ""],
            ["2025-07-31", "GH2025-0001", "88,000.00", "", ""],
        ],
    )
    write_csv(
        "icbc_balances_0731.csv",
        [
            header,
            ["2025-06-30", "GH2025-0003", "45000", "5000", "35"],
            ["2025-07-31", "GH2025-0001", "89,000.00", "", ""],
            ["2025-07-31", "GH2025-0001", "89,000.00", "", ""],
        ],
    )


def statements() -> None:
    header = ["交易日期", "银行流水号", "借贷方向", "金额", "余额", "对方户名", "摘要"]
    write_csv(
        "icbc_statement_0630_gbk.csv",
        [
            header,
            [
                "2025-06-01",
                "ST-0001",
                "贷",
                "3,000,000.00",
                "3,000,000.00",
                "某市财政局",
                "担保基金存入",
            ],
            ["2025-06-21", "ST-0002", "贷", "2,250.00", "3,002,250.00", "", "利息"],
            ["2025-06-25", "ST-0003", "D", "1,000.00", "3,001,250.00", "工商银行", "手续费"],
            ["2025-06-28", "ST-0004", "C", "500.00", "3,001,750.00", "张伟", "退款"],
            ["2025-06-30", "ST-0005", "借", "1,750.00", "3,000,000.00", "某市财政局", "调回"],
        ],
        encoding="gbk",
    )
    write_csv(
        "icbc_statement_broken.csv",
        [
            header,
            ["2025-07-01", "ST-0006", "贷", "100.00", "3,000,100.00", "", ""],
            ["2025-07-02", "ST-0007", "借", "50.00", "3,000,000.00", "", ""],  # 3,000,050.00
            ["2025-07-03", "ST-0008", "贷", "50.00", "3,000,050.00", "", ""],
            ["2025-07-04", "ST-0003", "借", "1,000.00", "2,999,050.00", "", ""],  # was 06-25
            ["2025-07-05", "ST-0009", "X", "10.00", "3,001,040.00", "", ""],
        ],
    )
    write_csv(
        "icbc_statement_0731.csv",
        [
            header,
            ["2025-06-28", "ST-0004", "贷", "500", "3001750", "张伟", "退款"],
            ["2025-06-30", "ST-0005", "借", "1750.00", "3000000.00", "某市财政局", "调回"],
            ["2025-07-01", "ST-0006", "贷", "100.00", "3,000,100.00", "", ""],
            ["2025-07-21", "ST-0010", "C", "2,300.10", "3,002,400.10", "", "利息"],
        ],
    )


def main() -> None:
    disbursements()
    repayments()
    balances()
    statements()


if __name__ == "__main__":
    main()
