"""A closed period's reports are the same whenever produced: close 2025, produce its
reports and files, post more in 2026 (a new bank, a new source, money and repayments),
produce them again — identical figures, anchors and fingerprints. ``verify`` proves the
first files against the books, and names the figure an edited file changed; a report of
an open period names the entries posted since it was produced."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from ledger.chain import drain_sealer
from ledger.fund import capital, loans, reference
from ledger.fund.closing import close_books
from ledger.models import PeriodClose
from ledger.reports.document import Anchor, content
from ledger.reports.errors import UnreadableReportError
from ledger.reports.export import export
from ledger.reports.fund_statement import fund_statement_report
from ledger.reports.general_ledger import general_ledger
from ledger.reports.trial_balance import balance_sheet_report, trial_balance_report
from ledger.reports.verify import Difference, read_csv, read_xlsx, reader_for, verify
from tests.fund.conftest import D, run

CLOSED = D(2025, 12, 31)
DECEMBER = (D(2025, 12, 1), CLOSED)


def produce(session):
    return [
        fund_statement_report(session, *DECEMBER),
        fund_statement_report(session, D(2025, 7, 1), CLOSED),
        trial_balance_report(session, CLOSED),
        balance_sheet_report(session, CLOSED),
        general_ledger(session, ["asset:special"], *DECEMBER),
    ]


def close(factory):
    run(factory, lambda s: close_books(s, CLOSED, actor="approver", today=D(2026, 1, 5)))


def later(factory):
    """2026: a bank and a source added, money received and placed, interest, a repayment."""

    def work(s):
        reference.add_bank(s, "RCB", "农村商业银行", "6217000000000000009", actor="admin")
        reference.add_capital_source(s, "donor", "企业捐赠", "other", actor="admin")
        a = capital.record_allocation(s, "donor", 3_000_000, D(2026, 1, 8), actor="clerk")
        capital.approve_allocation(s, a.id, actor="approver", today=D(2026, 1, 9))
        capital.place_capital(s, "RCB", 2_000_000, D(2026, 1, 9), actor="clerk")
        capital.record_deposit_interest(
            s, "ABC", 300_000, D(2026, 1, 10), "ABC-2026-01", actor="abc"
        )
        loans.repay(
            s, bank="ICBC", bank_ref="R-101", contract_no="ICBC-001", paid_on=D(2026, 1, 15),
            principal=1_000_000, interest=0, actor="icbc",
        )  # fmt: skip

    run(factory, work)
    assert drain_sealer(factory.kw["bind"])


def files(report):
    out = {}
    for fmt in ("csv", "xlsx"):
        buf = io.BytesIO()
        export(report, fmt, buf)
        out[fmt] = buf.getvalue()
    return out


def test_a_closed_period_reports_the_same_after_later_postings(books):
    close(books)
    with books() as s:
        first = produce(s)
        close_seq, close_hash = s.query(PeriodClose.chain_seq, PeriodClose.chain_hash).one()
    anchor = Anchor(close_seq, close_hash, CLOSED)
    assert {r.anchor for r in first} == {anchor}
    later(books)
    with books() as s:
        again = produce(s)
        assert s.query(PeriodClose).count() == 1
    for one, two in zip(first, again, strict=True):
        assert content(one) == content(two), one.kind
        assert one.fingerprint == two.fingerprint
        assert one.produced_at != two.produced_at  # not part of the fingerprint
    # The new bank and source have no line in the closed statement.
    assert [row.cells[0] for row in again[0].section("capital").rows] == [
        "city", "district-D01", "other", "provincial", "",
    ]  # fmt: skip
    # The files of the first production are proved against the books as they are now.
    with books() as s:
        for report in first:
            for fmt, data in files(report).items():
                verdict = verify(s, reader_for(f"report.{fmt}", data)(data))
                assert verdict.matches, (report.kind, fmt)
                assert verdict.fingerprint_holds and verdict.edited == ()
                assert (verdict.since, verdict.since_count) == ((), 0)
                assert verdict.books.fingerprint == report.fingerprint
        december = verify(s, read_csv(files(first[0])["csv"]))
    assert december.figures == 78


def test_an_edited_file_fails_naming_the_changed_figure(books):
    close(books)
    with books() as s:
        report = fund_statement_report(s, *DECEMBER)
    produced = files(report)
    later(books)
    # December: city 199,300,000 fen at the start, 300,000 of interest, 199,600,000 at the end.
    text = produced["csv"].decode("utf-8-sig")
    line = "city,市级配套,1993000.00,0.00,3000.00,0.00,0.00,0.00,1996000.00"
    assert line in text
    edited_csv = ("\ufeff" + text.replace(line, line[:-10] + "1996000.01")).encode()
    book = load_workbook(io.BytesIO(produced["xlsx"]))
    sheet = book["基金资本（按资金来源）"]
    assert [c.value for c in sheet[2]] == ["city", "市级配套", 1993000, 0, 3000, 0, 0, 0, 1996000]
    sheet["I2"] = 1996000.01
    buf = io.BytesIO()
    book.save(buf)
    changed = Difference(
        "capital", "city 市级配套", "closing 期末资本", "1,996,000.01", "1,996,000.00"
    )
    with books() as s:
        for verdict in (verify(s, read_csv(edited_csv)), verify(s, read_xlsx(buf.getvalue()))):
            assert not verdict.matches
            assert verdict.differences == (changed,)
            assert (verdict.only_in_file, verdict.only_in_books) == ((), ())
            assert not verdict.fingerprint_holds  # changed after it was produced
            assert verdict.since_count == 0  # nothing in the books explains it
        xlsx = verify(s, read_xlsx(buf.getvalue()))
    # The workbook also tells the edited cell from the content it embeds.
    assert xlsx.edited == (
        Difference("capital", "city 市级配套", "closing 期末资本", "199600001", "199600000"),
    )


def test_an_open_period_names_the_entries_posted_since(books):
    close(books)
    later(books)
    with books() as s:
        report = fund_statement_report(s, D(2026, 1, 1), D(2026, 1, 31))
    assert not report.anchor.closed
    produced = files(report)

    def interest(s):
        return capital.record_deposit_interest(
            s, "ICBC", 250_000, D(2026, 1, 25), "ICBC-2026-01", actor="icbc"
        ).entry_id

    entry_id = run(books, interest)
    with books() as s:
        verdict = verify(s, read_csv(produced["csv"]))
    assert not verdict.matches and verdict.fingerprint_holds
    assert verdict.since_count == 1
    [since] = verdict.since
    assert (since.id, since.effective_date, since.kind, since.amount) == (
        entry_id, D(2026, 1, 25), "interest.deposit", 250_000,
    )  # fmt: skip
    # The interest of each source and their closing capital, the movements' interest line,
    # ICBC's special account, the totals and the proof's closing: 21 figures.
    assert len(verdict.differences) == 21
    assert (
        Difference(
            "movements", "interest.deposit 专户利息", "special 专户存款", "3,000.00", "5,500.00"
        )
        in verdict.differences
    )
    assert verdict.differences[-1] == Difference(
        "proof", "期末", "assets 资产", "8,017,000.00", "8,019,500.00"
    )
    assert (verdict.only_in_file, verdict.only_in_books) == ((), ())


def test_files_as_written(books):
    with books() as s:
        report = fund_statement_report(s, *DECEMBER)
    produced = files(report)
    assert produced["csv"].startswith(b"\xef\xbb\xbf")
    lines = produced["csv"].decode("utf-8-sig").splitlines()
    assert lines[:5] == [
        "担保基金收支及资产负债情况表,Fund statement",
        "报表类型 kind,fund-statement",
        "参数 param,from,2025-12-01",
        "参数 param,to,2025-12-31",
        "单位 unit,元,yuan",
    ]
    assert lines[-2:] == [
        f"指纹 fingerprint,{report.fingerprint}",
        f"锚点 anchor,{report.anchor.seq},{report.anchor.hash},open",
    ]
    book = load_workbook(io.BytesIO(produced["xlsx"]))
    assert book.sheetnames == [
        "报表信息", "基金资本（按资金来源）", "本期变动（按业务类型）", "资产与负债",
        "在保责任余额（按合作银行）", "平衡验证：净资本 = 资产 − 负债", "_content",
    ]  # fmt: skip
    assert book["_content"].sheet_state == "hidden"
    sheet = book["资产与负债"]
    assert sheet.freeze_panes == "A2"
    assert sheet.oddFooter.right.text == f"指纹 {report.fingerprint}"
    assert sheet.oddFooter.center.text == "第 &P 页，共 &N 页"
    treasury = sheet["D2"]
    assert (sheet["A2"].value, treasury.value, treasury.number_format) == (
        "asset:treasury", 4100000, "#,##0.00",
    )  # fmt: skip
    assert isinstance(treasury.value, int | float) and treasury.data_type == "n"
    assert (sheet["B6"].value, sheet["C6"].value) == ("资产合计", 7972000)
    assert sheet["C6"].font.b and not sheet["C2"].font.b  # a total line is bold
    assert book.custom_doc_props["fundledger.fingerprint"].value == report.fingerprint


def test_what_verify_cannot_read(books):
    with pytest.raises(UnreadableReportError, match="no report kind, fingerprint or anchor"):
        read_csv(b"a,b\n1,2\n")
    with pytest.raises(UnreadableReportError, match="not a workbook this program reads"):
        read_xlsx(b"PK\x03\x04 not really")
    with pytest.raises(UnreadableReportError, match="not a report file this program reads"):
        reader_for("notes.txt", b"hello")
    bad = "\ufeffx\n报表类型 kind,nothing\n指纹 fingerprint,00\n锚点 anchor,1,ab,open\n"
    with books() as s, pytest.raises(UnreadableReportError, match="no report kind 'nothing'"):
        verify(s, read_csv(bad.encode()))
