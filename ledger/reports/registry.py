"""The report kinds, by name: how to build each from its parameters (as a file carries
them) and which period it covers. ``verify-report`` and the command line find a kind
here; another module adds its own with :func:`register`.

The kinds of this package are listed by module (``module:builder``) and imported only
when asked for.
"""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy.orm import Session

from ledger.reports.document import Report
from ledger.reports.errors import ReportError

Builder = Callable[[Session, Mapping[str, object]], Report]
Period = Callable[[Mapping[str, object]], tuple[dt.date | None, dt.date]]


@dataclass(frozen=True)
class ReportKind:
    name: str
    #: Builds the report from its parameters: {key: value, or a list of values}.
    build: Builder
    #: The period it covers, from the same parameters: (first day or None, last day). A
    #: report as of a date covers everything up to it.
    period: Period


#: Kind → (module, builder, period function) of this package's reports.
BUILT_IN: dict[str, tuple[str, str, str]] = {
    "fund-statement": ("ledger.reports.fund_statement", "from_params", "period"),
    "trial-balance": ("ledger.reports.trial_balance", "trial_balance_from_params", "period"),
    "balance-sheet": ("ledger.reports.trial_balance", "balance_sheet_from_params", "period"),
    "ledger": ("ledger.reports.general_ledger", "from_params", "period"),
}

_REGISTERED: dict[str, ReportKind] = {}


def register(name: str, build: Builder, period: Period) -> None:
    """Add a report kind (or replace one of the same name)."""
    _REGISTERED[name] = ReportKind(name, build, period)


def kinds() -> list[str]:
    return sorted({*BUILT_IN, *_REGISTERED})


def get(name: str) -> ReportKind:
    if name in _REGISTERED:
        return _REGISTERED[name]
    if name not in BUILT_IN:
        raise ReportError(
            f"no report kind {name!r}: one of {', '.join(kinds())}",
            zh=f"没有报表类型 {name!r}",
        )
    module, build, period = BUILT_IN[name]
    loaded = importlib.import_module(module)
    return ReportKind(name, getattr(loaded, build), getattr(loaded, period))


def params_of(pairs: Iterable[tuple[str, str]] | Iterable[list[str]]) -> dict[str, object]:
    """A report's (key, value) pairs as builders take them: one value as itself, a key
    given more than once as the list of its values."""
    result: dict[str, object] = {}
    for key, value in pairs:
        if key in result:
            previous = result[key]
            result[key] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            result[key] = value
    return result


def build(session: Session, name: str, params: Mapping[str, object]) -> Report:
    return get(name).build(session, params)
