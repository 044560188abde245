"""Reconciliation's named errors (English message, Chinese ``zh``, stable ``code``)."""

from __future__ import annotations

from ledger.fund.errors import FundError


class ReconError(FundError):
    """A reconciliation could not run: the file is not of the kind, or not accepted."""

    code = "recon"


class BreakNotFoundError(ReconError):
    code = "break-not-found"


class BreakError(ReconError):
    """A change of a break that is refused (an empty explanation, a bad resolution)."""

    code = "break"


class OpenBreaksError(ReconError):
    """A period may not close while a break found in it is open and unexplained."""

    code = "open-breaks"
