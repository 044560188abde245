"""What a report refuses: an unknown kind, a parameter it cannot take, a file it cannot
read back."""

from __future__ import annotations

from ledger.errors import LedgerError


class ReportError(LedgerError):
    """A report asked for with a kind or parameters it cannot have."""

    code = "report"


class UnreadableReportError(ReportError):
    """A file that is not a report this program wrote (or is damaged): ``verify-report``
    cannot take its kind, parameters and figures from it."""

    code = "report-unreadable"
