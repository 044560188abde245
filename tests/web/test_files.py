"""The bank files pages over the portfolio: an upload accepted (its receipt's counts and
totals, the entry it posted, the loan's balance moved by exactly the principal repaid),
rejected (every bad row on the page and in the CSV and XLSX reports, nothing posted),
sent twice (a duplicate), too large for the request (queued, its progress shown, then
imported by the import worker); a bank user's own bank only; no upload form for whoever
may not upload.

The portfolio's ICBC-001 (tests/fund/conftest.py) has 80,000.00 yuan outstanding, the
fund covering 80% of it; ICBC-002 has 80,000.00."""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import re
import tempfile
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import func, select

from ledger.bankfiles.imports import import_file
from ledger.bankfiles.models import BankFileImport
from ledger.chain import drain_sealer
from ledger.clock import business_today
from ledger.fund.models import Loan, Repayment
from ledger.models import JournalEntry
from ledger.ops.models import ImportTask
from ledger.ops.queue import enqueue_import
from tests.fund.conftest import run
from tests.web.conftest import make_app, text

HEADER = "bank_ref,contract_no,paid_on,principal,interest,balance_after\n"
#: ICBC-001 repays 30,000.00 of its 80,000.00.
GOOD = HEADER + 'W-1,ICBC-001,2025-12-20,"30,000.00",100.00,"50,000.00"\n'
#: The same, with two mistakes: a balance after that is not the fund's, a contract typo.
BAD = GOOD + "W-2,ICBC-002,2025-12-20,1000,0,1.00\n" + "W-3,ICBC-00X,2025-12-20,1000,0,1.00\n"
BAD_LINES = [
    ["3", "balance_after", "1.00",
     "贷款 ICBC-002 还款后本金余额：银行为 1.00 元，基金为 79,000.00 元，不一致",
     "loan ICBC-002: the bank's balance after this repayment is 1.00 yuan but the fund's "
     "is 79,000.00 yuan", "balance-mismatch"],
    ["4", "contract_no", "ICBC-00X", "ICBC 没有合同号为 ICBC-00X 的贷款",
     "bank ICBC has no loan with contract number ICBC-00X", "invalid-state"],
]  # fmt: skip


@pytest.fixture
def uploads(tmp_path) -> Path:
    return tmp_path / "uploads"


@pytest.fixture
def app(books, db_url, uploads):
    app = make_app(db_url, UPLOAD_FOLDER=str(uploads))
    yield app
    engine = app.extensions["fundledger"].engine
    assert drain_sealer(engine)
    engine.dispose()


def upload(client, body: str | bytes, *, kind="repayment", bank=None, name="还款明细.csv"):
    data = body.encode() if isinstance(body, str) else body
    form = {"kind": kind, "file": (io.BytesIO(data), name)}
    if bank is not None:
        form["bank"] = bank
    return client.post("/files", data=form, content_type="multipart/form-data")


def receipt_id(response) -> int:
    assert response.status_code == 302, response.data
    return int(re.fullmatch(r"/files/(\d+)", response.headers["Location"]).group(1))


def counts(factory) -> dict[str, int]:
    with factory() as s:
        return {
            name: s.scalar(select(func.count()).select_from(model))
            for name, model in (
                ("entries", JournalEntry), ("repayments", Repayment),
                ("receipts", BankFileImport), ("tasks", ImportTask),
            )
        }  # fmt: skip


def outstanding(factory, contract_no: str) -> int:
    with factory() as s:
        return s.scalar(
            select(Loan.principal - Loan.repaid_principal).where(Loan.contract_no == contract_no)
        )


def saved_files(uploads: Path) -> list[Path]:
    return sorted(p for p in uploads.rglob("*") if p.is_file()) if uploads.exists() else []


# ------------------------------------------------------------------------------ accepted


def test_a_bank_user_uploads_a_repayment_file_and_the_loan_moves(as_user, books, uploads):
    icbc = as_user("icbc")
    before = counts(books)
    assert outstanding(books, "ICBC-001") == 8_000_000
    response = upload(icbc, GOOD)
    rid = receipt_id(response)
    assert counts(books) == before | {
        "entries": before["entries"] + 1, "repayments": before["repayments"] + 1,
        "receipts": before["receipts"] + 1,
    }  # fmt: skip
    assert outstanding(books, "ICBC-001") == 8_000_000 - 3_000_000
    page = icbc.get(f"/files/{rid}")
    shown = text(page)
    assert "文件已接收：已记账 1 行。" in shown
    assert f"回执 #{rid} 已接收" in shown
    assert "ICBC · 还款明细 · 还款明细.csv" in shown
    assert "行数 1 已记账 1 已跳过 0 错误行数 0" in shown
    assert "归还本金 30,000.00 归还利息 100.00 罚息 0.00 本金余额 50,000.00" in shown
    with books() as s:
        entry_id = s.scalar(select(Repayment.entry_id).where(Repayment.bank_ref == "W-1"))
    # The exposure falls by the fund's 80% of the principal repaid.
    assert (
        f"#{entry_id} 2025-12-20 ICBC 还款 2025-12-20（流水 W-1） "
        "memo:exposure-contra:ICBC 24,000.00 memo:exposure:ICBC:L1 24,000.00"
    ) in shown
    # A bank user may not open the books: the entry is named, not linked.
    assert "/books/entries/" not in page.get_data(as_text=True)
    assert "本金余额 50,000.00" in text(icbc.get("/loans/ICBC/ICBC-001"))
    # The file is kept under the upload folder with a name of ours.
    [saved] = saved_files(uploads)
    assert saved.parent.parent == uploads and saved.suffix == ".csv"
    assert saved.read_text(encoding="utf-8") == GOOD
    assert re.fullmatch(r"[0-9a-f]{32}\.csv", saved.name)


def test_a_clerk_uploads_for_a_bank_and_the_entry_is_linked(as_user, books):
    clerk = as_user("clerk")
    form = clerk.get("/files").get_data(as_text=True)
    assert '<select id="bank" name="bank">' in form
    assert re.findall(r'<option value="([A-Z]+)">[^<]*\(\1\)</option>', form) == ["ABC", "ICBC"]
    rid = receipt_id(upload(clerk, GOOD, bank="ICBC"))
    with books() as s:
        entry_id = s.scalar(select(Repayment.entry_id).where(Repayment.bank_ref == "W-1"))
    html = clerk.get(f"/files/{rid}").get_data(as_text=True)
    assert f'<a href="/books/entries/{entry_id}">#{entry_id}</a>' in html
    assert outstanding(books, "ICBC-001") == 5_000_000


# ------------------------------------------------------------------------------ rejected


def test_a_rejected_file_lists_every_bad_row_and_posts_nothing(as_user, books):
    icbc = as_user("icbc")
    before = counts(books)
    rid = receipt_id(upload(icbc, BAD))
    assert counts(books) == before | {"receipts": before["receipts"] + 1}
    assert outstanding(books, "ICBC-001") == 8_000_000
    shown = text(icbc.get(f"/files/{rid}"))
    assert "文件已拒收，未记任何账。请更正下列各行后重新上传。" in shown
    assert f"回执 #{rid} 已拒收" in shown
    assert "行数 3 已记账 0 已跳过 0 错误行数 2" in shown
    for row, column, value, zh, _en, code in BAD_LINES:
        assert f"{row} {column} {value} {zh} {code}" in shown
    assert "已记账凭证" not in shown

    report = icbc.get(f"/files/{rid}/errors.csv")
    assert report.status_code == 200
    assert report.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert f"receipt-{rid}-errors.csv" in report.headers["Content-Disposition"]
    assert report.data.startswith(b"\xef\xbb\xbf")
    lines = list(csv.reader(io.StringIO(report.data.decode("utf-8-sig"))))
    assert lines == [["行号 row", "列 column", "原值 value", "错误说明", "message", "code"],
                     *BAD_LINES]  # fmt: skip

    workbook = icbc.get(f"/files/{rid}/errors.xlsx")
    assert workbook.status_code == 200
    assert workbook.headers["Content-Type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    sheet = openpyxl.load_workbook(io.BytesIO(workbook.data), read_only=True).active
    rows = [
        [("" if v is None else str(v)) for v in row] for row in sheet.iter_rows(values_only=True)
    ]
    assert rows == lines


def test_the_bank_fixes_the_file_and_uploads_it_again(as_user, books):
    """The browser's story: two bad rows, the report read, the file fixed and accepted."""
    icbc = as_user("icbc")
    first = receipt_id(upload(icbc, BAD))
    report = icbc.get(f"/files/{first}/errors.csv").data.decode("utf-8-sig")
    assert [line[:2] for line in csv.reader(io.StringIO(report))][1:] == [
        ["3", "balance_after"], ["4", "contract_no"]
    ]  # fmt: skip
    fixed = GOOD + 'W-2,ICBC-002,2025-12-20,1000,0,"79,000.00"\n'
    second = receipt_id(upload(icbc, fixed))
    assert "行数 2 已记账 2 已跳过 0 错误行数 0" in text(icbc.get(f"/files/{second}"))
    assert outstanding(books, "ICBC-001") == 5_000_000
    assert outstanding(books, "ICBC-002") == 7_900_000
    assert "本金余额 79,000.00" in text(icbc.get("/loans/ICBC/ICBC-002"))


def test_an_accepted_file_has_no_error_report(as_user):
    icbc = as_user("icbc")
    rid = receipt_id(upload(icbc, GOOD))
    assert icbc.get(f"/files/{rid}/errors.csv").status_code == 404
    assert icbc.get(f"/files/{rid}/errors.xlsx").status_code == 404
    assert "错误报告" not in text(icbc.get(f"/files/{rid}"))


# ----------------------------------------------------------------------------- duplicate


def test_the_same_file_twice_is_a_duplicate_and_posts_nothing(as_user, books):
    icbc = as_user("icbc")
    first = receipt_id(upload(icbc, GOOD))
    before = counts(books)
    response = upload(icbc, GOOD, name="again.csv")
    second = receipt_id(response)
    assert counts(books) == before | {"receipts": before["receipts"] + 1}
    assert outstanding(books, "ICBC-001") == 5_000_000
    page = icbc.get(f"/files/{second}")
    shown = text(page)
    assert "此文件此前已导入，未重复记账。" in shown
    assert f"回执 #{second} 重复文件" in shown
    assert "行数 1 已记账 0 已跳过 1 错误行数 0" in shown
    assert f'<a id="duplicate-of" href="/files/{first}">#{first}</a>' in page.get_data(as_text=True)


# ------------------------------------------------------------------------ in the background


def test_a_large_file_is_queued_and_the_worker_imports_it(books, db_url, uploads):
    from jobs.imports import work_queue
    from tests.web.conftest import login

    app = make_app(db_url, UPLOAD_FOLDER=str(uploads), BACKGROUND_ROWS=1)
    try:
        icbc = app.test_client()
        assert login(icbc, "icbc").status_code == 302
        before = counts(books)
        body = GOOD + 'W-2,ICBC-002,2025-12-20,1000,0,"79,000.00"\n'
        response = upload(icbc, body, name="大文件.csv")
        assert response.status_code == 302
        task_id = int(re.fullmatch(r"/files/tasks/(\d+)", response.headers["Location"])[1])
        assert counts(books) == before | {"tasks": before["tasks"] + 1}
        assert outstanding(books, "ICBC-001") == 8_000_000

        page = icbc.get(f"/files/tasks/{task_id}")
        shown = text(page)
        assert "文件较大，将在后台导入。" in shown
        assert f"导入任务 #{task_id} 排队中" in shown
        assert "ICBC · 还款明细 · 大文件.csv" in shown
        assert "已读取行数 0 已检查行数 0 已记账行数 0" in shown
        html = page.get_data(as_text=True)
        assert '<noscript><meta http-equiv="refresh" content="5"></noscript>' in html
        assert f'data-url="/files/tasks/{task_id}.json"' in html
        assert icbc.get(f"/files/tasks/{task_id}.json").get_json() == {
            "id": task_id, "status": "queued", "status_label": "排队中", "rows_read": 0,
            "rows_checked": 0, "rows_posted": 0, "finished": False, "receipt_id": None,
            "receipt_url": None, "error": None,
        }  # fmt: skip
        assert f"#{task_id}" in text(icbc.get("/files"))

        seen = []
        outcome = work_queue(
            app.extensions["fundledger"].factory, business_today(),
            on_progress=lambda task, p: seen.append((p.read, p.checked, p.posted)),
        )  # fmt: skip
        assert outcome == {"requeued": 0, "done": 1, "failed": 0, "retry": 0}
        assert seen[-1] == (2, 2, 2)
        assert outstanding(books, "ICBC-001") == 5_000_000
        assert outstanding(books, "ICBC-002") == 7_900_000

        state = icbc.get(f"/files/tasks/{task_id}.json").get_json()
        rid = state["receipt_id"]
        assert state == {
            "id": task_id, "status": "done", "status_label": "已完成", "rows_read": 2,
            "rows_checked": 2, "rows_posted": 2, "finished": True, "receipt_id": rid,
            "receipt_url": f"/files/{rid}", "error": None,
        }  # fmt: skip
        done = icbc.get(f"/files/tasks/{task_id}")
        assert "已读取行数 2 已检查行数 2 已记账行数 2" in text(done)
        assert f'href="/files/{rid}"' in done.get_data(as_text=True)
        assert "http-equiv" not in done.get_data(as_text=True)
        assert "行数 2 已记账 2 已跳过 0 错误行数 0" in text(icbc.get(f"/files/{rid}"))
    finally:
        engine = app.extensions["fundledger"].engine
        assert drain_sealer(engine)
        engine.dispose()


def test_data_rows_are_counted_cheaply(tmp_path):
    from web.uploads import XLSX_BYTES_PER_ROW, data_rows

    csv_file = tmp_path / "a.csv"
    csv_file.write_bytes(GOOD.encode())
    assert data_rows(csv_file) == 1
    csv_file.write_bytes(BAD.encode().rstrip(b"\n"))
    assert data_rows(csv_file) == 3
    csv_file.write_bytes(b"")
    assert data_rows(csv_file) == 0
    book = openpyxl.Workbook()
    book.active.append(["bank_ref"])
    xlsx = tmp_path / "a.xlsx"
    book.save(xlsx)
    assert data_rows(xlsx) == xlsx.stat().st_size // XLSX_BYTES_PER_ROW


# -------------------------------------------------------------------------- who may do what


def test_a_bank_user_uploads_for_its_own_bank_only(as_user, books, uploads):
    icbc = as_user("icbc")
    html = icbc.get("/files").get_data(as_text=True)
    assert '<select id="bank"' not in html
    assert '<input type="hidden" name="bank" value="ICBC">' in html
    assert "农业银行" not in text(icbc.get("/files"))
    before = counts(books)
    forged = upload(icbc, GOOD, bank="ABC")
    assert forged.status_code == 403
    assert counts(books) == before
    assert saved_files(uploads) == []


def test_a_bank_user_does_not_see_another_banks_files(as_user, books):
    clerk = as_user("clerk")
    abc = receipt_id(upload(clerk, BAD.replace("ICBC", "ABC"), bank="ABC"))
    icbc_rid = receipt_id(upload(clerk, BAD, bank="ICBC"))
    with books() as s:
        task = enqueue_import(s, kind="repayment", bank="ABC", actor="abc",
                              content=GOOD.encode(), file_name="abc.csv")  # fmt: skip
        s.commit()
    icbc = as_user("icbc")
    for url in (f"/files/{abc}", f"/files/{abc}/errors.csv", f"/files/{abc}/errors.xlsx",
                f"/files/tasks/{task.id}", f"/files/tasks/{task.id}.json"):  # fmt: skip
        assert icbc.get(url).status_code == 404, url
    assert icbc.get(f"/files/{icbc_rid}").status_code == 200
    assert icbc.get("/files/999999").status_code == 404
    assert icbc.get("/files/tasks/999999").status_code == 404
    listed = re.findall(r'href="/files/(\d+)"', icbc.get("/files?bank=ABC").get_data(as_text=True))
    assert listed == [str(icbc_rid)]
    assert re.findall(r'href="/files/(\d+)"', clerk.get("/files").get_data(as_text=True)) == [
        str(icbc_rid), str(abc)
    ]  # fmt: skip
    assert f"/files/tasks/{task.id}" not in icbc.get("/files").get_data(as_text=True)
    assert f"/files/tasks/{task.id}" in clerk.get("/files").get_data(as_text=True)


@pytest.mark.parametrize("user", ["auditor", "approver", "admin"])
def test_who_may_not_upload_sees_no_form_and_is_refused(as_user, books, uploads, user):
    client = as_user(user)
    page = client.get("/files")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'id="upload"' not in html and 'type="file"' not in html
    assert "上传文件" not in text(page)
    before = counts(books)
    assert upload(client, GOOD, bank="ICBC").status_code == 403
    assert counts(books) == before
    assert saved_files(uploads) == []


def field_errors(response) -> dict[str, list[str]]:
    """Each form field's errors, by the field's label."""
    html = response.get_data(as_text=True)
    found = re.findall(
        r'<label for="\w+">([^<]+)</label>.*?(?:<ul class="errors">(.*?)</ul>\s*)?</div>',
        html, flags=re.S,
    )  # fmt: skip
    return {label: re.findall(r"<li>(.*?)</li>", errors) for label, errors in found if errors}


def test_the_upload_form_names_what_is_missing(as_user, books, uploads):
    clerk = as_user("clerk")
    before = counts(books)
    response = clerk.post("/files", data={"kind": "repayment", "bank": "ICBC"},
                          content_type="multipart/form-data")  # fmt: skip
    assert response.status_code == 422
    assert field_errors(response) == {"文件": ["请选择要上传的文件。"]}
    wrong_kind = upload(clerk, GOOD, kind="loans", bank="ICBC")
    assert wrong_kind.status_code == 422
    assert field_errors(wrong_kind) == {"文件类型": ["不是有效的选择。"]}
    unknown_bank = upload(clerk, GOOD, bank="XYZ")
    assert unknown_bank.status_code == 422
    assert field_errors(unknown_bank) == {"银行": ["不是有效的选择。"]}
    assert counts(books) == before
    assert saved_files(uploads) == []


# ------------------------------------------------------------------------------- the list


def test_the_list_filters_by_kind_status_and_date(as_user, books):
    clerk = as_user("clerk")
    rejected = receipt_id(upload(clerk, BAD, bank="ICBC"))
    accepted = receipt_id(upload(clerk, GOOD, bank="ICBC"))

    def ids(url):
        page = clerk.get(url)
        assert page.status_code == 200, text(page)
        return [int(i) for i in re.findall(r'href="/files/(\d+)"', page.get_data(as_text=True))]

    assert ids("/files") == [accepted, rejected]
    assert ids("/files?status=rejected") == [rejected]
    assert ids("/files?kind=balances") == []
    assert ids("/files?bank=ABC") == []
    today = business_today().isoformat()
    assert ids(f"/files?from={today}&to={today}") == [accepted, rejected]
    yesterday = (business_today() - dt.timedelta(days=1)).isoformat()
    assert ids(f"/files?to={yesterday}") == []
    row = text(clerk.get("/files?status=accepted"))
    assert f"#{accepted}" in row and "ICBC 还款明细 还款明细.csv clerk 1 1 0 0 已接收" in row
    assert ids(f"/files?before={accepted}") == [rejected]
    assert ids("/files?sort=uploaded_at") == [rejected, accepted]
    assert ids("/files?sort=-uploaded_at&status=rejected") == [rejected]

    bad = clerk.get("/files?status=lost")
    assert bad.status_code == 400
    assert "导入状态" in text(bad) and "lost" in text(bad)
    date = clerk.get("/files?from=2026-13-01")
    assert date.status_code == 400
    assert "上传日期起：2026-13-01 不是日期（应为 YYYY-MM-DD）" in text(date)


def test_the_list_pages_by_keyset(books, db_url, uploads):
    from tests.web.conftest import login

    app = make_app(db_url, UPLOAD_FOLDER=str(uploads), PAGE_SIZE=2)
    try:
        clerk = app.test_client()
        assert login(clerk, "clerk").status_code == 302
        made = [receipt_id(upload(clerk, BAD.replace("W-", f"P{n}-"), bank="ICBC"))
                for n in range(3)]  # fmt: skip
        first = clerk.get("/files").get_data(as_text=True)
        assert re.findall(r'href="/files/(\d+)"', first) == [str(made[2]), str(made[1])]
        assert f"before={made[1]}" in first
        second = clerk.get(f"/files?before={made[1]}").get_data(as_text=True)
        assert re.findall(r'href="/files/(\d+)"', second) == [str(made[0])]
        # Oldest upload first: the next page's link carries the sort and its cursor.
        first = clerk.get("/files?sort=uploaded_at&kind=repayment").get_data(as_text=True)
        assert re.findall(r'href="/files/(\d+)"', first) == [str(made[0]), str(made[1])]
        link = html.unescape(re.search(r'<a href="([^"]*)">下一页 »</a>', first).group(1))
        assert link.startswith("/files?sort=uploaded_at&kind=repayment&after=")
        second = clerk.get(link).get_data(as_text=True)
        assert re.findall(r'href="/files/(\d+)"', second) == [str(made[2])]
    finally:
        engine = app.extensions["fundledger"].engine
        assert drain_sealer(engine)
        engine.dispose()


# ------------------------------------------------------ objects for the authorisation matrix


def matrix_objects(factory) -> dict[str, int]:
    """A rejected receipt and a queued task of each bank (ICBC's own, ABC's foreign), for
    tests/web/test_authz_matrix.py."""
    made = {}
    with tempfile.TemporaryDirectory() as folder:
        for bank in ("ICBC", "ABC"):
            path = Path(folder) / f"{bank}.csv"
            path.write_text(HEADER + f"M-1,{bank}-NONE,2025-12-20,1,0,0\n", encoding="utf-8")
            receipt = import_file(factory, kind="repayment", bank=bank, path=path, actor="clerk")
            made[f"{bank.lower()}_receipt"] = receipt.id
    tasks = run(
        factory,
        lambda s: [
            enqueue_import(s, kind="repayment", bank=bank, actor="clerk",
                           content=GOOD.encode(), file_name=f"{bank}.csv").id
            for bank in ("ICBC", "ABC")
        ],
    )  # fmt: skip
    made["icbc_task"], made["abc_task"] = tasks
    return made


def test_the_dashboard_counts_todays_uploads_by_status(as_user):
    def card(client) -> str:
        page = text(client.get("/"))
        return re.search(r"今日上传文件 \d+ 已接收 \d+ · 已拒收 \d+", page).group(0)

    icbc, clerk = as_user("icbc"), as_user("clerk")
    assert card(clerk) == "今日上传文件 0 已接收 0 · 已拒收 0"
    receipt_id(upload(icbc, GOOD))
    receipt_id(upload(icbc, BAD, name="还款明细-2.csv"))
    receipt_id(upload(clerk, GOOD.replace("ICBC-001", "ABC-001"), bank="ABC", name="abc.csv"))
    assert card(clerk) == "今日上传文件 3 已接收 1 · 已拒收 2"
    # A bank user counts its own bank's files only.
    assert card(icbc) == "今日上传文件 2 已接收 1 · 已拒收 1"
