"""PostgreSQL: the keys of the rows a bank file writes, checked per statement, not per row.

PostgreSQL checks a foreign key row by row: one query per inserted row and key. A
100,000-row repayment file writes 100,000 postings and 100,000 repayments, so 400,000
such queries (each posting's account and entry, each repayment's loan and bank and its
entry), and they cost about as much as writing the rows. Here those four keys are
checked instead by statement-level triggers over the statement's new rows
(``REFERENCING NEW TABLE``), one join each, raising what a foreign key raises (SQLSTATE
23503, the constraint's name, the same message).

A posting's entry is written after its postings (the entry's insert checks that they
balance), so that key was checked at commit. PostgreSQL has no deferred statement-level
trigger: each postings statement leaves the set of its entries in a queue row
(``fl_postings_pending``), and a deferred constraint trigger on that row checks the set
at commit and deletes the row, so the queue is empty between transactions.

A foreign key also guards its other end: the row it points at can be neither deleted
nor given another key while rows point at it. The ledger already refuses both for
journal entries and for an account's id. This adds the rest: a loan keeps its id and
its bank, and accounts and loans are never deleted (on both databases: they are the
books' history, closed and written off, never removed). With no referenced row able to
go away or change, a check when a row is written holds for good, whatever runs
concurrently.

SQLite keeps its foreign keys: it checks them in the same pass that writes each row.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

#: The foreign keys checked per statement on PostgreSQL: (table, name, definition).
REPLACED = (
    ("postings", "fk_postings_account_id_accounts", "(account_id) REFERENCES accounts (id)"),
    (
        "postings",
        "fk_postings_entry_id_journal_entries",
        "(entry_id) REFERENCES journal_entries (id) DEFERRABLE INITIALLY DEFERRED",
    ),
    (
        "repayments",
        "fk_repayments_loan_id_loans",
        "(loan_id, bank_code) REFERENCES loans (id, bank_code)",
    ),
    (
        "repayments",
        "fk_repayments_entry_id_journal_entries",
        "(entry_id) REFERENCES journal_entries (id)",
    ),
)

# The check's failure reads as a foreign key's: psycopg raises ForeignKeyViolation
# (an IntegrityError to SQLAlchemy) and the diagnostics name the constraint.
_VIOLATION = (
    "RAISE foreign_key_violation USING\n"
    '            MESSAGE = format(\'insert or update on table "%s" violates foreign key '
    'constraint "%s"\', {table}, {name!r}),\n'
    "            DETAIL = format('Key (%s)=(%s) is not present in table \"%s\".', "
    "{columns!r}, {values}, {parent!r}),\n"
    "            CONSTRAINT = {name!r}, TABLE = {table};"
)

# ``fl_postings_inserted`` as migration 0001 made it, for the downgrade.
_POSTINGS_0001 = r"""
CREATE OR REPLACE FUNCTION fl_postings_inserted() RETURNS trigger LANGUAGE plpgsql
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
"""

POSTGRESQL_UP = [
    # Postings: each distinct account and entry of the statement looked up once (not
    # once per posting), and the balances summed per account before they are joined.
    r"""
CREATE OR REPLACE FUNCTION fl_postings_inserted() RETURNS trigger LANGUAGE plpgsql
    SET enable_seqscan = off AS $$
DECLARE
    bad record;
    entry_ids bigint[];
BEGIN
    SELECT array_agg(DISTINCT entry_id) INTO entry_ids FROM new_postings;
    IF entry_ids IS NULL THEN  -- no rows
        RETURN NULL;
    END IF;
    SELECT n.account_id, a.id IS NULL AS missing, a.code INTO bad
      FROM (SELECT DISTINCT account_id FROM new_postings) n
      LEFT JOIN accounts a ON a.id = n.account_id
     WHERE a.id IS NULL OR a.is_group
     LIMIT 1;
    IF FOUND AND bad.missing THEN
        """
    + _VIOLATION.format(
        table="TG_TABLE_NAME",
        name="fk_postings_account_id_accounts",
        columns="account_id",
        values="bad.account_id",
        parent="accounts",
    )
    + r"""
    ELSIF FOUND THEN
        RAISE EXCEPTION '[group-account] account % is a group account and takes no postings',
            bad.code;
    END IF;
    SELECT e.id AS entry_id INTO bad FROM journal_entries e WHERE e.id = ANY (entry_ids) LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION '[sealed] entry % is already posted; postings cannot be added to it',
            bad.entry_id;
    END IF;
    WITH delta AS (
        SELECT account_id, sum(CASE WHEN side = 'D' THEN amount ELSE -amount END) AS d
          FROM new_postings GROUP BY account_id
    )
    UPDATE accounts a
       SET balance = a.balance + CASE WHEN a.normal_side = 'D' THEN delta.d ELSE -delta.d END
      FROM delta WHERE a.id = delta.account_id;
    -- Their entries come later in the transaction: checked at commit, once per statement.
    INSERT INTO fl_postings_pending (entry_ids) VALUES (entry_ids);
    RETURN NULL;
END $$
""",
    # PostgreSQL has no deferred statement-level constraint: each postings statement
    # leaves the set of its entries in a queue row, whose deferred constraint trigger
    # checks them all at commit and takes the row out again (the queue is empty
    # between transactions).
    """
CREATE TABLE fl_postings_pending (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    entry_ids bigint[] NOT NULL
)
""",
    r"""
CREATE FUNCTION fl_postings_pending_checked() RETURNS trigger LANGUAGE plpgsql
    SET enable_seqscan = off AS $$
DECLARE
    bad record;
BEGIN
    SELECT p.entry_id INTO bad FROM unnest(NEW.entry_ids) AS p(entry_id)
     WHERE NOT EXISTS (SELECT 1 FROM journal_entries e WHERE e.id = p.entry_id)
     LIMIT 1;
    IF FOUND THEN
        """
    + _VIOLATION.format(
        table="'postings'",
        name="fk_postings_entry_id_journal_entries",
        columns="entry_id",
        values="bad.entry_id",
        parent="journal_entries",
    )
    + r"""
    END IF;
    DELETE FROM fl_postings_pending WHERE id = NEW.id;
    RETURN NULL;
END $$
""",
    """
CREATE CONSTRAINT TRIGGER fl_postings_pending_checked AFTER INSERT ON fl_postings_pending
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION fl_postings_pending_checked()
""",
    r"""
CREATE FUNCTION fl_repayments_keys() RETURNS trigger LANGUAGE plpgsql
    SET enable_seqscan = off AS $$
DECLARE
    bad record;
BEGIN
    SELECT n.loan_id, n.bank_code INTO bad
      FROM (SELECT DISTINCT loan_id, bank_code FROM new_repayments) n
     WHERE NOT EXISTS (SELECT 1 FROM loans l WHERE l.id = n.loan_id AND l.bank_code = n.bank_code)
     LIMIT 1;
    IF FOUND THEN
        """
    + _VIOLATION.format(
        table="TG_TABLE_NAME",
        name="fk_repayments_loan_id_loans",
        columns="loan_id, bank_code",
        values="concat_ws(', ', bad.loan_id, bad.bank_code)",
        parent="loans",
    )
    + r"""
    END IF;
    SELECT n.entry_id INTO bad
      FROM (SELECT DISTINCT entry_id FROM new_repayments WHERE entry_id IS NOT NULL) n
     WHERE NOT EXISTS (SELECT 1 FROM journal_entries e WHERE e.id = n.entry_id)
     LIMIT 1;
    IF FOUND THEN
        """
    + _VIOLATION.format(
        table="TG_TABLE_NAME",
        name="fk_repayments_entry_id_journal_entries",
        columns="entry_id",
        values="bad.entry_id",
        parent="journal_entries",
    )
    + r"""
    END IF;
    RETURN NULL;
END $$
""",
    """
CREATE TRIGGER fl_repayments_inserted AFTER INSERT ON repayments
    REFERENCING NEW TABLE AS new_repayments
    FOR EACH STATEMENT EXECUTE FUNCTION fl_repayments_keys()
""",
    """
CREATE TRIGGER fl_repayments_updated AFTER UPDATE ON repayments
    REFERENCING NEW TABLE AS new_repayments
    FOR EACH STATEMENT EXECUTE FUNCTION fl_repayments_keys()
""",
    r"""
CREATE FUNCTION fl_refuse_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '[kept] % on % is refused: its rows are the books'' history and are never deleted',
        TG_OP, TG_TABLE_NAME;
END $$
""",
    """
CREATE TRIGGER fl_accounts_kept BEFORE DELETE OR TRUNCATE ON accounts
    FOR EACH STATEMENT EXECUTE FUNCTION fl_refuse_delete()
""",
    """
CREATE TRIGGER fl_loans_kept BEFORE DELETE OR TRUNCATE ON loans
    FOR EACH STATEMENT EXECUTE FUNCTION fl_refuse_delete()
""",
    r"""
CREATE FUNCTION fl_loan_key_kept() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '[kept] loan % keeps its id and its bank for life', OLD.contract_no;
END $$
""",
    """
CREATE TRIGGER fl_loans_key_kept BEFORE UPDATE OF id, bank_code ON loans
    FOR EACH ROW WHEN (NEW.id IS DISTINCT FROM OLD.id OR NEW.bank_code IS DISTINCT FROM OLD.bank_code)
    EXECUTE FUNCTION fl_loan_key_kept()
""",
]

POSTGRESQL_DOWN = [
    "DROP TABLE fl_postings_pending",
    "DROP FUNCTION fl_postings_pending_checked()",
    "DROP TRIGGER fl_loans_key_kept ON loans",
    "DROP FUNCTION fl_loan_key_kept()",
    "DROP TRIGGER fl_loans_kept ON loans",
    "DROP TRIGGER fl_accounts_kept ON accounts",
    "DROP FUNCTION fl_refuse_delete()",
    "DROP TRIGGER fl_repayments_updated ON repayments",
    "DROP TRIGGER fl_repayments_inserted ON repayments",
    "DROP FUNCTION fl_repayments_keys()",
    _POSTINGS_0001,
]

SQLITE_UP = [
    f"""
CREATE TRIGGER fl_{table}_before_delete BEFORE DELETE ON {table} BEGIN
    SELECT RAISE(ABORT, '[kept] DELETE on {table} is refused: its rows are the books'' history and are never deleted');
END
"""
    for table in ("accounts", "loans")
] + [
    """
CREATE TRIGGER fl_loans_key_kept BEFORE UPDATE OF id, bank_code ON loans
    WHEN NEW.id IS NOT OLD.id OR NEW.bank_code IS NOT OLD.bank_code BEGIN
    SELECT RAISE(ABORT, '[kept] a loan keeps its id and its bank for life');
END
"""
]
SQLITE_DOWN = [
    "DROP TRIGGER fl_loans_key_kept",
    "DROP TRIGGER fl_loans_before_delete",
    "DROP TRIGGER fl_accounts_before_delete",
]


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        for statement in SQLITE_UP:
            op.execute(statement)
        return
    for table, name, _ in REPLACED:
        op.drop_constraint(name, table, type_="foreignkey")
    for statement in POSTGRESQL_UP:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        for statement in SQLITE_DOWN:
            op.execute(statement)
        return
    for statement in POSTGRESQL_DOWN:
        op.execute(statement)
    for table, name, definition in REPLACED:
        op.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} FOREIGN KEY {definition}")
