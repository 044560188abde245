"""Signing in and the audit log.

Users get a password (an argon2id hash; NULL until one is set, and a user without one
cannot sign in), the time it was set, whether they must change it, their consecutive
failed sign-ins, until when they are locked out, and their last sign-in.

``audit_log`` records every sign-in, failed sign-in, sign-out and change made through the
web, the API or a password command: who, what, when, from which address. It is
append-only: the database refuses every UPDATE and DELETE of its rows (and TRUNCATE on
PostgreSQL), as it does for the journal.

On SQLite the new columns are plain ALTER TABLE ADD COLUMNs (a CHECK is allowed there),
so no table is rebuilt.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-08
"""

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

_FAILED_CHECK = "CONSTRAINT ck_users_failed_logins CHECK (failed_logins >= 0)"


def upgrade() -> None:
    op.add_column("users", sa.Column("password_hash", sa.String(200), nullable=True))
    op.add_column("users", sa.Column("password_changed_at", sa.DateTime(), nullable=True))
    op.add_column(
        "users",
        sa.Column(
            "must_change_password", sa.Boolean(), nullable=False, server_default=sa.text("false")
        ),
    )
    op.execute(
        f"ALTER TABLE users ADD COLUMN failed_logins INTEGER NOT NULL DEFAULT 0 {_FAILED_CHECK}"
    )
    op.add_column("users", sa.Column("locked_until", sa.DateTime(), nullable=True))
    op.add_column("users", sa.Column("last_login_at", sa.DateTime(), nullable=True))

    op.create_table(
        "audit_log",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(60), nullable=True),
        sa.Column("action", sa.String(60), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("outcome", sa.String(10), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("address", sa.String(45), nullable=True),
        sa.CheckConstraint("outcome IN ('ok','refused')", name=op.f("ck_audit_log_outcome")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index(op.f("ix_audit_log_at"), "audit_log", ["at"])
    op.create_index(op.f("ix_audit_log_actor"), "audit_log", ["actor"])

    if op.get_bind().dialect.name == "postgresql":
        for statement in POSTGRESQL_TRIGGERS:
            op.execute(statement)
    else:
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)


def downgrade() -> None:
    bind = op.get_bind()
    op.drop_table("audit_log")
    if bind.dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS fl_audit_refuse() CASCADE")
        op.execute("ALTER TABLE users DROP CONSTRAINT ck_users_failed_logins")
    for column in (
        "last_login_at",
        "locked_until",
        "failed_logins",
        "must_change_password",
        "password_changed_at",
        "password_hash",
    ):
        op.execute(f"ALTER TABLE users DROP COLUMN {column}")


POSTGRESQL_TRIGGERS = [
    r"""
CREATE FUNCTION fl_audit_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '[immutable] % on audit_log is refused: the audit log is append-only',
        TG_OP;
END $$
""",
    """
CREATE TRIGGER fl_audit_refuse BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION fl_audit_refuse()
""",
]

SQLITE_TRIGGERS = [
    """
CREATE TRIGGER fl_audit_before_update BEFORE UPDATE ON audit_log BEGIN
    SELECT RAISE(ABORT, '[immutable] the audit log is append-only: its rows are never changed');
END
""",
    """
CREATE TRIGGER fl_audit_before_delete BEFORE DELETE ON audit_log BEGIN
    SELECT RAISE(ABORT, '[immutable] the audit log is append-only: its rows are never deleted');
END
""",
]
