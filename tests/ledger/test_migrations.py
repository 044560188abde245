from sqlalchemy import inspect

from ledger import migrate
from ledger.db import make_engine


def test_downgrade_to_base_and_back(engine):
    assert migrate.current_revision(engine) == migrate.head_revision()
    migrate.downgrade(engine, "base")
    assert migrate.current_revision(engine) is None
    assert "postings" not in inspect(engine).get_table_names()
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == migrate.head_revision()
    assert {"accounts", "journal_entries", "postings", "ledger_head", "period_closes"} <= set(
        inspect(engine).get_table_names()
    )


def test_init_creates_sqlite_file_and_folder(tmp_path):
    path = tmp_path / "new" / "folder" / "books.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    assert path.exists()
    assert migrate.current_revision(engine) == migrate.head_revision()
    engine.dispose()
