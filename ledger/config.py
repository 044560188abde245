"""Where the books live: configuration read from the environment.

``DATABASE_URL``
    SQLAlchemy URL of the database. ``postgresql://user@host/db`` is accepted and uses
    psycopg 3. Default: ``sqlite:///<instance>/fundledger.db``.
``FUNDLEDGER_INSTANCE_PATH``
    Folder for the embedded SQLite file and other local state. Default ``./instance``.
``FUNDLEDGER_ISOLATION``
    Isolation level on PostgreSQL: ``READ COMMITTED`` (default), ``REPEATABLE READ`` or
    ``SERIALIZABLE``. The books stay correct at each; stricter levels retry more.
"""

from __future__ import annotations

import os
from pathlib import Path

ISOLATION_LEVELS = ("READ COMMITTED", "REPEATABLE READ", "SERIALIZABLE")


def instance_path() -> Path:
    return Path(os.environ.get("FUNDLEDGER_INSTANCE_PATH", "instance")).resolve()


def database_url() -> str:
    url = os.environ.get("DATABASE_URL", "").strip()
    if url:
        return url
    return f"sqlite:///{instance_path() / 'fundledger.db'}"


def isolation_level() -> str:
    level = os.environ.get("FUNDLEDGER_ISOLATION", "READ COMMITTED").strip().upper()
    if level not in ISOLATION_LEVELS:
        raise ValueError(
            f"FUNDLEDGER_ISOLATION must be one of {', '.join(ISOLATION_LEVELS)}, not {level!r}"
        )
    return level
