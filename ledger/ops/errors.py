"""Named refusals of the operations' records: each has an English message, ``zh`` (the
Chinese one) and a stable ``code``."""

from __future__ import annotations

from ledger.errors import LedgerError


class OpsError(LedgerError):
    code = "ops-error"


class UnknownJobError(OpsError):
    """A job name the registry does not have."""

    code = "unknown-job"


class RunRefusedError(OpsError):
    """A period that already succeeded (run it again only when asked to), or one another
    process is running right now."""

    code = "run-refused"


class UnknownAlertError(OpsError):
    code = "unknown-alert"


class AlertAcknowledgedError(OpsError):
    code = "alert-acknowledged"


class UnknownTaskError(OpsError):
    code = "unknown-import-task"


class TaskSourceError(OpsError):
    """An import task given neither a file nor its bytes, or both, or a file that is not
    there."""

    code = "import-task-source"
