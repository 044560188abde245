"""The books for a web request: one engine per application; a short read session per
view (``reading``), closed before the page renders, and writes through
``ledger.db.run_in_transaction`` (``write``), which retries and seals."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

from flask import Flask, current_app
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from ledger.db import make_engine, run_in_transaction, session_factory
from web.cache import FigureCache

T = TypeVar("T")


@dataclass(frozen=True)
class Books:
    engine: Engine
    factory: sessionmaker[Session]


def init_app(app: Flask) -> None:
    engine = make_engine(app.config["DATABASE_URL"])
    app.extensions["fundledger"] = Books(engine, session_factory(engine))
    app.extensions["fundledger.figures"] = FigureCache()


def books() -> Books:
    return current_app.extensions["fundledger"]


@contextmanager
def reading() -> Iterator[Session]:
    """A session for a view's reads; read what the page needs as values, then leave."""
    with books().factory() as session:
        yield session


def write(work: Callable[[Session], T]) -> T:
    """Run one operation in a transaction of its own, committed or not at all."""
    return run_in_transaction(books().factory, work)
