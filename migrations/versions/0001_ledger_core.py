"""Ledger core: accounts, journal entries, postings, hash-chain head, period closes.

The triggers below make the database itself refuse what would break the books, so that
raw SQL cannot do it either:

* an entry is written after its postings and must then have two or more of them,
  debits equal to credits, all dated the entry's date, and no date in a closed period;
* once an entry is written, no posting can be added to it (it is sealed);
* entries and postings are never updated or deleted; the one allowed update of an entry
  is sealing it into the hash chain (seq, prev_hash and hash, once, linked to the head);
  an entry may also be written already sealed, linked to the head the same way;
* each posting moves its account's balance, and the CHECK on ``accounts`` refuses any
  must-not-go-negative account going below zero;
* period closes are append-only and only move forward.

PostgreSQL uses statement-level triggers with transition tables, so a bulk insert is
checked once per statement; SQLite uses row-level triggers (constant messages only).
The PostgreSQL trigger functions run with ``enable_seqscan = off``: PL/pgSQL caches a
plan per connection, and one made while the journal was nearly empty would otherwise
scan the whole journal on every insert for the rest of that connection's life.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("code", sa.String(200), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("type", sa.String(12), nullable=False),
        sa.Column("normal_side", sa.String(1), nullable=False),
        sa.Column("parent_id", BigId, sa.ForeignKey("accounts.id"), nullable=True),
        sa.Column("is_group", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("no_overdraft", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("capital_source", sa.String(40)),
        sa.Column("bank", sa.String(40)),
        sa.Column("district", sa.String(40)),
        sa.Column("loan", sa.String(80)),
        sa.Column("balance", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("opened_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("code", name="uq_accounts_code"),
        sa.CheckConstraint(
            "type IN ('asset','liability','capital','income','expense','memorandum')",
            name="ck_accounts_type",
        ),
        sa.CheckConstraint("normal_side IN ('D','C')", name="ck_accounts_normal_side"),
        sa.CheckConstraint("NOT no_overdraft OR balance >= 0", name="ck_accounts_no_overdraft"),
    )
    for col in ("parent_id", "capital_source", "bank", "district", "loan"):
        op.create_index(f"ix_accounts_{col}", "accounts", [col])

    op.create_table(
        "journal_entries",
        sa.Column("id", BigId, primary_key=True, autoincrement=False),
        sa.Column("effective_date", sa.Date, nullable=False),
        sa.Column("recorded_at", sa.DateTime, nullable=False),
        sa.Column("kind", sa.String(60), nullable=False),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("actor", sa.String(120), nullable=False),
        sa.Column("idempotency_key", sa.String(200)),
        sa.Column("reverses_id", BigId, sa.ForeignKey("journal_entries.id")),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("seq", sa.BigInteger),
        sa.Column("prev_hash", sa.String(64)),
        sa.Column("hash", sa.String(64)),
        sa.UniqueConstraint("idempotency_key", name="uq_journal_entries_idempotency_key"),
        sa.UniqueConstraint("reverses_id", name="uq_journal_entries_reverses_id"),
        sa.UniqueConstraint("seq", name="uq_journal_entries_seq"),
    )
    op.create_index("ix_journal_entries_effective_date", "journal_entries", ["effective_date"])
    op.create_index("ix_journal_entries_recorded_at", "journal_entries", ["recorded_at"])
    # Sealing looks for the few entries not yet in the chain; without this it scans them all.
    op.create_index(
        "ix_journal_entries_unsealed",
        "journal_entries",
        ["id"],
        postgresql_where=sa.text("seq IS NULL"),
        sqlite_where=sa.text("seq IS NULL"),
    )

    op.create_table(
        "postings",
        sa.Column("id", BigId, primary_key=True),
        sa.Column(
            "entry_id",
            BigId,
            sa.ForeignKey(
                "journal_entries.id",
                name="fk_postings_entry_id_journal_entries",
                deferrable=True,
                initially="DEFERRED",
            ),
            nullable=False,
        ),
        sa.Column("account_id", BigId, sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("side", sa.String(1), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("effective_date", sa.Date, nullable=False),
        sa.CheckConstraint("side IN ('D','C')", name="ck_postings_side"),
        sa.CheckConstraint("amount > 0 AND amount <= 1000000000000000", name="ck_postings_amount"),
    )
    op.create_index("ix_postings_entry_id", "postings", ["entry_id"])
    op.create_index(
        "ix_postings_account_id_effective_date", "postings", ["account_id", "effective_date"]
    )

    op.create_table(
        "ledger_head",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.CheckConstraint("id = 1", name="ck_ledger_head_single_row"),
    )
    op.execute(f"INSERT INTO ledger_head (id, seq, hash) VALUES (1, 0, '{'0' * 64}')")

    op.create_table(
        "period_closes",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("closed_through", sa.Date, nullable=False),
        sa.Column("closed_at", sa.DateTime, nullable=False),
        sa.Column("actor", sa.String(120), nullable=False),
        sa.UniqueConstraint("closed_through", name="uq_period_closes_closed_through"),
    )

    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE SEQUENCE journal_entries_id_seq OWNED BY journal_entries.id")
        for statement in POSTGRESQL_TRIGGERS:
            op.execute(statement)
    else:
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for name in PG_FUNCTIONS:
            op.execute(f"DROP FUNCTION IF EXISTS {name}() CASCADE")
    for table in ("postings", "period_closes", "ledger_head", "journal_entries", "accounts"):
        op.drop_table(table)


# --------------------------------------------------------------------------- PostgreSQL

PG_FUNCTIONS = (
    "fl_postings_inserted",
    "fl_entries_inserted",
    "fl_entry_update_row",
    "fl_chain_link",
    "fl_refuse_change",
    "fl_account_update_row",
    "fl_period_inserted",
)

POSTGRESQL_TRIGGERS = [
    r"""
CREATE FUNCTION fl_postings_inserted() RETURNS trigger LANGUAGE plpgsql
    SET enable_seqscan = off AS $$
DECLARE
    bad record;
BEGIN
    SELECT n.entry_id, a.code, a.is_group,
           EXISTS (SELECT 1 FROM journal_entries e WHERE e.id = n.entry_id) AS posted
      INTO bad
      FROM new_postings n JOIN accounts a ON a.id = n.account_id
     WHERE a.is_group OR EXISTS (SELECT 1 FROM journal_entries e WHERE e.id = n.entry_id)
     LIMIT 1;
    IF FOUND AND bad.posted THEN
        RAISE EXCEPTION '[sealed] entry % is already posted; postings cannot be added to it',
            bad.entry_id;
    ELSIF FOUND THEN
        RAISE EXCEPTION '[group-account] account % is a group account and takes no postings',
            bad.code;
    END IF;
    WITH delta AS (
        SELECT n.account_id,
               sum(CASE WHEN n.side = a.normal_side THEN n.amount ELSE -n.amount END) AS d
          FROM new_postings n JOIN accounts a ON a.id = n.account_id
         GROUP BY n.account_id
    )
    UPDATE accounts a SET balance = a.balance + delta.d
      FROM delta WHERE a.id = delta.account_id;
    RETURN NULL;
END $$
""",
    """
CREATE TRIGGER fl_postings_inserted AFTER INSERT ON postings
    REFERENCING NEW TABLE AS new_postings
    FOR EACH STATEMENT EXECUTE FUNCTION fl_postings_inserted()
""",
    r"""
CREATE FUNCTION fl_entries_inserted() RETURNS trigger LANGUAGE plpgsql
    SET enable_seqscan = off AS $$
DECLARE
    bad record;
    closed date;
BEGIN
    SELECT id INTO bad FROM new_entries
     WHERE (seq IS NULL) <> (prev_hash IS NULL) OR (seq IS NULL) <> (hash IS NULL) LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION '[chain] entry % is half sealed: seq, prev_hash and hash go together',
            bad.id;
    END IF;
    SELECT max(closed_through) INTO closed FROM period_closes;
    IF closed IS NOT NULL THEN
        SELECT id, effective_date INTO bad FROM new_entries
         WHERE effective_date <= closed LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION '[closed-period] entry % is dated %, in the period closed through %',
                bad.id, bad.effective_date, closed;
        END IF;
    END IF;
    SELECT n.id, coalesce(p.n, 0) AS n, coalesce(p.dr, 0) AS dr, coalesce(p.cr, 0) AS cr,
           coalesce(p.misdated, 0) AS misdated
      INTO bad
      FROM new_entries n
      LEFT JOIN LATERAL (
            SELECT count(*) AS n,
                   sum(CASE WHEN side = 'D' THEN amount ELSE 0 END) AS dr,
                   sum(CASE WHEN side = 'C' THEN amount ELSE 0 END) AS cr,
                   sum(CASE WHEN effective_date <> n.effective_date THEN 1 ELSE 0 END) AS misdated
              FROM postings WHERE entry_id = n.id) p ON true
     WHERE coalesce(p.n, 0) < 2 OR p.dr <> p.cr OR p.misdated > 0
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION '[unbalanced] entry % has % postings, debits % and credits % fen, % dated otherwise than the entry',
            bad.id, bad.n, bad.dr, bad.cr, bad.misdated;
    END IF;
    RETURN NULL;
END $$
""",
    """
CREATE TRIGGER fl_entries_inserted AFTER INSERT ON journal_entries
    REFERENCING NEW TABLE AS new_entries
    FOR EACH STATEMENT EXECUTE FUNCTION fl_entries_inserted()
""",
    r"""
CREATE FUNCTION fl_entry_update_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.seq IS NOT NULL OR NEW.seq IS NULL OR NEW.prev_hash IS NULL OR NEW.hash IS NULL
       OR (NEW.id, NEW.effective_date, NEW.recorded_at, NEW.kind, NEW.description, NEW.actor,
           NEW.idempotency_key, NEW.reverses_id, NEW.content_hash)
          IS DISTINCT FROM
          (OLD.id, OLD.effective_date, OLD.recorded_at, OLD.kind, OLD.description, OLD.actor,
           OLD.idempotency_key, OLD.reverses_id, OLD.content_hash)
    THEN
        RAISE EXCEPTION '[immutable] journal entry % is posted and cannot be changed; post a reversing entry instead',
            OLD.id;
    END IF;
    RETURN NEW;
END $$
""",
    """
CREATE TRIGGER fl_entry_update_row BEFORE UPDATE ON journal_entries
    FOR EACH ROW EXECUTE FUNCTION fl_entry_update_row()
""",
    r"""
CREATE FUNCTION fl_chain_link() RETURNS trigger LANGUAGE plpgsql
    SET enable_seqscan = off AS $$
DECLARE
    head record;
    bad record;
    last record;
BEGIN
    SELECT seq, hash INTO last FROM sealed WHERE seq IS NOT NULL ORDER BY seq DESC LIMIT 1;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    SELECT seq, hash INTO head FROM ledger_head WHERE id = 1 FOR UPDATE;
    SELECT s.id INTO bad FROM (
        SELECT id, seq, prev_hash,
               lag(hash) OVER (ORDER BY seq) AS before_hash,
               row_number() OVER (ORDER BY seq) AS rn
          FROM sealed WHERE seq IS NOT NULL) s
     WHERE s.seq <> head.seq + s.rn OR s.prev_hash <> coalesce(s.before_hash, head.hash)
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION '[chain] sealing entry % does not continue the chain at seq %',
            bad.id, head.seq;
    END IF;
    UPDATE ledger_head SET seq = last.seq, hash = last.hash WHERE id = 1;
    RETURN NULL;
END $$
""",
    """
CREATE TRIGGER fl_entries_sealed AFTER UPDATE ON journal_entries
    REFERENCING NEW TABLE AS sealed
    FOR EACH STATEMENT EXECUTE FUNCTION fl_chain_link()
""",
    """
CREATE TRIGGER fl_entries_inserted_sealed AFTER INSERT ON journal_entries
    REFERENCING NEW TABLE AS sealed
    FOR EACH STATEMENT EXECUTE FUNCTION fl_chain_link()
""",
    r"""
CREATE FUNCTION fl_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '[immutable] % on % is refused: posted records are never changed; post a reversing entry instead',
        TG_OP, TG_TABLE_NAME;
END $$
""",
    """
CREATE TRIGGER fl_postings_refuse BEFORE UPDATE OR DELETE OR TRUNCATE ON postings
    FOR EACH STATEMENT EXECUTE FUNCTION fl_refuse_change()
""",
    """
CREATE TRIGGER fl_entries_refuse BEFORE DELETE OR TRUNCATE ON journal_entries
    FOR EACH STATEMENT EXECUTE FUNCTION fl_refuse_change()
""",
    """
CREATE TRIGGER fl_periods_refuse BEFORE UPDATE OR DELETE OR TRUNCATE ON period_closes
    FOR EACH STATEMENT EXECUTE FUNCTION fl_refuse_change()
""",
    """
CREATE TRIGGER fl_head_refuse BEFORE DELETE OR TRUNCATE ON ledger_head
    FOR EACH STATEMENT EXECUTE FUNCTION fl_refuse_change()
""",
    r"""
CREATE FUNCTION fl_account_update_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (NEW.id, NEW.code, NEW.type, NEW.normal_side, NEW.parent_id)
       IS DISTINCT FROM (OLD.id, OLD.code, OLD.type, OLD.normal_side, OLD.parent_id) THEN
        RAISE EXCEPTION '[account] account % keeps its code, type, side and parent for life',
            OLD.code;
    END IF;
    IF NEW.balance <> OLD.balance AND pg_trigger_depth() < 2 THEN
        RAISE EXCEPTION '[account] the balance of account % moves only by postings', OLD.code;
    END IF;
    RETURN NEW;
END $$
""",
    """
CREATE TRIGGER fl_account_update_row BEFORE UPDATE ON accounts
    FOR EACH ROW EXECUTE FUNCTION fl_account_update_row()
""",
    r"""
CREATE FUNCTION fl_period_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    closed date;
BEGIN
    SELECT max(closed_through) INTO closed FROM period_closes WHERE id <> NEW.id;
    IF closed IS NOT NULL AND NEW.closed_through <= closed THEN
        RAISE EXCEPTION '[period] the books are already closed through %', closed;
    END IF;
    RETURN NULL;
END $$
""",
    """
CREATE TRIGGER fl_period_inserted AFTER INSERT ON period_closes
    FOR EACH ROW EXECUTE FUNCTION fl_period_inserted()
""",
]

# ------------------------------------------------------------------------------- SQLite

_SEALED_COLUMNS_SAME = " AND ".join(
    f"NEW.{c} IS OLD.{c}"
    for c in (
        "id",
        "effective_date",
        "recorded_at",
        "kind",
        "description",
        "actor",
        "idempotency_key",
        "reverses_id",
        "content_hash",
    )
)

SQLITE_TRIGGERS = [
    """
CREATE TRIGGER fl_postings_before_insert BEFORE INSERT ON postings BEGIN
    SELECT RAISE(ABORT, '[sealed] the entry is already posted; postings cannot be added to it')
     WHERE EXISTS (SELECT 1 FROM journal_entries WHERE id = NEW.entry_id);
    SELECT RAISE(ABORT, '[group-account] a group account takes no postings')
     WHERE (SELECT is_group FROM accounts WHERE id = NEW.account_id);
END
""",
    """
CREATE TRIGGER fl_postings_after_insert AFTER INSERT ON postings BEGIN
    UPDATE accounts
       SET balance = balance
           + CASE WHEN NEW.side = normal_side THEN NEW.amount ELSE -NEW.amount END
     WHERE id = NEW.account_id;
END
""",
    """
CREATE TRIGGER fl_entries_before_insert BEFORE INSERT ON journal_entries BEGIN
    SELECT RAISE(ABORT, '[chain] seq, prev_hash and hash go together')
     WHERE (NEW.seq IS NULL) <> (NEW.prev_hash IS NULL) OR (NEW.seq IS NULL) <> (NEW.hash IS NULL);
    SELECT RAISE(ABORT, '[chain] a sealed entry must continue the chain from its head')
     WHERE NEW.seq IS NOT NULL
       AND (NEW.seq <> (SELECT seq + 1 FROM ledger_head WHERE id = 1)
            OR NEW.prev_hash <> (SELECT hash FROM ledger_head WHERE id = 1));
    SELECT RAISE(ABORT, '[closed-period] the entry is dated in a closed period')
     WHERE NEW.effective_date <= (SELECT max(closed_through) FROM period_closes);
    SELECT RAISE(ABORT, '[unbalanced] an entry needs two or more postings of its date, debits equal to credits')
     WHERE (SELECT count(*) < 2
                   OR coalesce(sum(CASE WHEN side = 'D' THEN amount END), 0)
                      <> coalesce(sum(CASE WHEN side = 'C' THEN amount END), 0)
                   OR coalesce(sum(effective_date <> NEW.effective_date), 0) > 0
              FROM postings WHERE entry_id = NEW.id);
END
""",
    f"""
CREATE TRIGGER fl_entries_before_update BEFORE UPDATE ON journal_entries BEGIN
    SELECT RAISE(ABORT, '[immutable] a posted journal entry cannot be changed; post a reversing entry instead')
     WHERE OLD.seq IS NOT NULL OR NEW.seq IS NULL OR NEW.prev_hash IS NULL OR NEW.hash IS NULL
        OR NOT ({_SEALED_COLUMNS_SAME});
    SELECT RAISE(ABORT, '[chain] sealing must continue the chain from its head')
     WHERE NEW.seq <> (SELECT seq + 1 FROM ledger_head WHERE id = 1)
        OR NEW.prev_hash <> (SELECT hash FROM ledger_head WHERE id = 1);
END
""",
    """
CREATE TRIGGER fl_entries_after_update AFTER UPDATE ON journal_entries BEGIN
    UPDATE ledger_head SET seq = NEW.seq, hash = NEW.hash WHERE id = 1;
END
""",
    """
CREATE TRIGGER fl_entries_after_insert AFTER INSERT ON journal_entries
    WHEN NEW.seq IS NOT NULL BEGIN
    UPDATE ledger_head SET seq = NEW.seq, hash = NEW.hash WHERE id = 1;
END
""",
    """
CREATE TRIGGER fl_entries_before_delete BEFORE DELETE ON journal_entries BEGIN
    SELECT RAISE(ABORT, '[immutable] a posted journal entry is never deleted; post a reversing entry instead');
END
""",
    """
CREATE TRIGGER fl_postings_before_update BEFORE UPDATE ON postings BEGIN
    SELECT RAISE(ABORT, '[immutable] a posting is never changed; post a reversing entry instead');
END
""",
    """
CREATE TRIGGER fl_postings_before_delete BEFORE DELETE ON postings BEGIN
    SELECT RAISE(ABORT, '[immutable] a posting is never deleted; post a reversing entry instead');
END
""",
    """
CREATE TRIGGER fl_periods_before_update BEFORE UPDATE ON period_closes BEGIN
    SELECT RAISE(ABORT, '[immutable] a period close is never changed');
END
""",
    """
CREATE TRIGGER fl_periods_before_delete BEFORE DELETE ON period_closes BEGIN
    SELECT RAISE(ABORT, '[immutable] a period close is never undone');
END
""",
    """
CREATE TRIGGER fl_periods_before_insert BEFORE INSERT ON period_closes BEGIN
    SELECT RAISE(ABORT, '[period] the books are already closed through that date or later')
     WHERE NEW.closed_through <= (SELECT max(closed_through) FROM period_closes);
END
""",
    """
CREATE TRIGGER fl_head_before_delete BEFORE DELETE ON ledger_head BEGIN
    SELECT RAISE(ABORT, '[immutable] the chain head is never deleted');
END
""",
    """
CREATE TRIGGER fl_accounts_before_update BEFORE UPDATE ON accounts BEGIN
    SELECT RAISE(ABORT, '[account] an account keeps its code, type, side and parent for life')
     WHERE NEW.id IS NOT OLD.id OR NEW.code IS NOT OLD.code OR NEW.type IS NOT OLD.type
        OR NEW.normal_side IS NOT OLD.normal_side OR NEW.parent_id IS NOT OLD.parent_id;
END
""",
]
