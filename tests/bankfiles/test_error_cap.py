"""A file with more errors than a report holds: the first MAX_ERRORS are listed, after a
line saying how many there are in how many rows; every bad row is still counted."""

from __future__ import annotations

import ledger.bankfiles.imports as imports_module
from ledger.bankfiles.imports import import_file
from tests.bankfiles.conftest import TODAY, problems, state


def test_errors_past_the_cap_are_counted_not_listed(city, tmp_path, monkeypatch):
    monkeypatch.setattr(imports_module, "MAX_ERRORS", 3)
    path = tmp_path / "ICBC_balances_20261130_1.csv"
    lines = ["余额日期,贷款合同号,本金余额"]
    lines += [f"2026-11-30,GH2025-000{n},{n}.001" for n in range(1, 6)]  # 3 decimals
    lines += ["2026-11-31,GH2025-0001,1.00"]  # and a date that does not exist
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    before = state(city)
    receipt = import_file(city, bank="ICBC", kind="balances", path=path, actor="icbc", today=TODAY)
    assert (receipt.status, receipt.rows, receipt.error_rows) == ("rejected", 6, 6)
    assert receipt.errors == 4  # three listed and the line saying so
    assert receipt.message == "the file has 6 errors in 6 rows; the first 3 are listed"
    assert receipt.message_zh == "文件共有 6 处错误，涉及 6 行；以下列出前 3 处"
    assert problems(city, receipt) == [
        (None, "", "", "too-many-errors"),
        (2, "principal_outstanding", "1.001", "invalid-value"),
        (3, "principal_outstanding", "2.001", "invalid-value"),
        (4, "principal_outstanding", "3.001", "invalid-value"),
    ]
    assert state(city) == before
