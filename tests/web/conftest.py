"""The web application over the domain tests' small portfolio (tests/fund/conftest.py:
two banks, six loans, claims, a recovery, a write-off request, allocations pending and
rejected), every user with the same password; a Flask test client per test.

CSRF is off for the test client (a test of its own turns it on); passwords are hashed
with argon2id's cheapest parameters, the same code as production's."""

from __future__ import annotations

import re

import pytest
from argon2 import PasswordHasher

from ledger.chain import drain_sealer
from ledger.fund import access
from tests.fund.conftest import build_portfolio, run

PASSWORD = "Web#2026test"
USERS = ("admin", "clerk", "clerk2", "approver", "approver2", "icbc", "abc", "auditor")


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch):
    monkeypatch.setattr(access, "HASHER", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


@pytest.fixture
def books(factory):
    build_portfolio(factory)
    run(
        factory,
        lambda s: access.set_initial_passwords(
            s, USERS, PASSWORD, actor="admin", must_change=False
        ),
    )
    return factory


def make_app(db_url, **config):
    from web import create_app

    return create_app(
        {"DATABASE_URL": db_url, "SECRET_KEY": "test-secret", "SESSION_COOKIE_SECURE": False,
         "WTF_CSRF_ENABLED": False, "TESTING": True, **config}
    )  # fmt: skip


@pytest.fixture
def app(books, db_url):
    app = make_app(db_url)
    yield app
    books_engine = app.extensions["fundledger"].engine
    assert drain_sealer(books_engine)
    books_engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


def login(client, username, password=PASSWORD):
    return client.post("/login", data={"username": username, "password": password})


@pytest.fixture
def as_user(app):
    """A signed-in client for a username: ``as_user("clerk")``."""

    def make(username):
        client = app.test_client()
        response = login(client, username)
        assert response.status_code == 302, response.data
        return client

    return make


def text(response) -> str:
    """A page's visible text, tags removed and spaces collapsed, for exact assertions."""
    html = response.get_data(as_text=True)
    html = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()
