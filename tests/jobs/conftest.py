"""Helpers of the scheduler's tests: a fixed clock, a job that records what it ran, a
configuration with no file behind it."""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from jobs.config import parse
from jobs.registry import Job, Registry
from ledger.ops.runs import PeriodKind
from tests.bankfiles.conftest import city  # noqa: F401  (the bank files' small city)

T0 = dt.datetime(2026, 12, 1, 2, 0, 0)  # UTC


class Clock:
    """UTC now, moved by hand."""

    def __init__(self, at: dt.datetime = T0):
        self.at = at

    def __call__(self) -> dt.datetime:
        return self.at

    def advance(self, **kw) -> None:
        self.at += dt.timedelta(**kw)


class Recorder:
    """A job function that records each date it ran for; it fails on the dates in
    ``fail`` (once each, unless ``always``)."""

    def __init__(self):
        self.ran: list[dt.date] = []
        self.fail: set[dt.date] = set()
        self.always = False
        self.lock = threading.Lock()

    def __call__(self, factory, on: dt.date) -> dict[str, int]:
        with self.lock:
            self.ran.append(on)
            if on in self.fail:
                if not self.always:
                    self.fail.discard(on)
                raise RuntimeError(f"bank file for {on} unreadable")
        return {"days": 1}


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def recorder():
    return Recorder()


def registry_of(recorder, period=PeriodKind.DAILY, name="daily-check", **kw) -> Registry:
    return Registry([Job(name, recorder, period, "0 3 * * *", "a test job", **kw)])


def config_of(**data):
    return parse(data)
