"""Posting speed: one server-side call per ordinary entry, one per sealing pass.

``fl_post_entry`` posts one entry in a single round trip on PostgreSQL. It locks the
entry's accounts in id order, and writes the postings and the entry only when nothing
would refuse them: every code names a postable account, the memorandum postings balance
among themselves, the date is after the closed period, the idempotency key is unused and
no must-not-go-negative account goes below zero. Otherwise it writes nothing and returns
NULL, and the caller runs its ordinary checks (which name the fault) in the same
transaction. The entry's content hash is taken here, over the canonical content the
caller sends around the two parts only the server knows (the entry id and the postings'
account ids). The triggers of 0001 check the rows as they check any other insert.

``fl_seal_pending`` is one sealing pass: unless another transaction holds the chain head,
it seals every pending entry (up to a limit) in id order and returns how many; NULL when
the head is busy. The chain hash is the one ``ledger.chain.chain_hash`` computes.

SQLite is unchanged.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in POSTGRESQL_FUNCTIONS:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "DROP FUNCTION IF EXISTS fl_post_entry(text[], text[], bigint[], date, timestamp, "
            "text, text, text, text, bytea, bytea, bytea)"
        )
        op.execute("DROP FUNCTION IF EXISTS fl_seal_pending(boolean, integer)")


POSTGRESQL_FUNCTIONS = [
    r"""
CREATE FUNCTION fl_post_entry(
    p_codes text[], p_sides text[], p_amounts bigint[], p_date date, p_recorded_at timestamp,
    p_kind text, p_description text, p_actor text, p_key text,
    p_head bytea, p_middle bytea, p_tail bytea
) RETURNS bigint LANGUAGE plpgsql
    SET enable_seqscan = off SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    ok boolean;
    new_id bigint;
    legs text;
BEGIN
    -- Lock in id order, as the Python path does, so that writers cannot deadlock; read
    -- the balances under the lock and see whether anything would refuse the entry.
    SELECT count(a.id) = count(*)
           AND NOT coalesce(bool_or(a.is_group), false)
           AND coalesce(sum(l.dc) FILTER (WHERE a.type = 'memorandum'), 0) = 0
           AND NOT coalesce(bool_or(a.no_overdraft AND a.balance
                   + CASE WHEN a.normal_side = 'D' THEN l.dc ELSE -l.dc END < 0), false)
           AND coalesce((SELECT max(closed_through) FROM period_closes) < p_date, true)
           AND (p_key IS NULL
                OR NOT EXISTS (SELECT 1 FROM journal_entries WHERE idempotency_key = p_key))
      INTO ok
      FROM (SELECT c AS code, sum(CASE WHEN s = 'D' THEN m ELSE -m END) AS dc
              FROM unnest(p_codes, p_sides, p_amounts) AS u(c, s, m) GROUP BY c) l
      LEFT JOIN (SELECT id, code, type, normal_side, is_group, no_overdraft, balance
                   FROM accounts WHERE code = ANY (p_codes) ORDER BY id FOR UPDATE) a
        ON a.code = l.code;
    IF NOT ok THEN
        RETURN NULL;  -- the caller's checks say what is wrong
    END IF;
    new_id := nextval('journal_entries_id_seq');
    -- Per account, increases first, as the Python path writes them.
    WITH written AS (
        INSERT INTO postings (entry_id, account_id, side, amount, effective_date)
        SELECT new_id, a.id, u.s, u.m, p_date
          FROM unnest(p_codes, p_sides, p_amounts) WITH ORDINALITY AS u(c, s, m, n)
          JOIN accounts a ON a.code = u.c
         ORDER BY a.id, u.s <> a.normal_side, u.n
        RETURNING account_id, side, amount
    )
    SELECT string_agg(format('[%s,"%s",%s]', account_id, side, amount), ','
                       ORDER BY account_id, side, amount)
      INTO legs FROM written;
    INSERT INTO journal_entries (id, effective_date, recorded_at, kind, description, actor,
                                 idempotency_key, content_hash)
    VALUES (new_id, p_date, p_recorded_at, p_kind, p_description, p_actor, p_key,
            encode(sha256(p_head || convert_to(new_id::text, 'UTF8') || p_middle
                          || convert_to('[' || legs || ']', 'UTF8') || p_tail), 'hex'));
    RETURN new_id;
END $$
""",
    r"""
CREATE FUNCTION fl_seal_pending(p_wait boolean, p_limit integer) RETURNS integer
    LANGUAGE plpgsql SET enable_seqscan = off SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    head record;
    pending record;
    last_seq bigint;
    last_hash text;
    ids bigint[] := '{}';
    seqs bigint[] := '{}';
    prevs text[] := '{}';
    hashes text[] := '{}';
BEGIN
    IF p_wait THEN
        SELECT h.seq, h.hash INTO head FROM ledger_head h WHERE h.id = 1 FOR UPDATE;
    ELSE
        SELECT h.seq, h.hash INTO head FROM ledger_head h WHERE h.id = 1
           FOR UPDATE SKIP LOCKED;
        IF NOT FOUND THEN
            RETURN NULL;  -- another transaction is sealing
        END IF;
    END IF;
    last_seq := head.seq;
    last_hash := head.hash;
    -- A statement of its own, after the lock: in READ COMMITTED it sees what committed
    -- while the lock was awaited.
    FOR pending IN
        SELECT e.id, e.content_hash FROM journal_entries e
         WHERE e.seq IS NULL ORDER BY e.id LIMIT p_limit
    LOOP
        last_seq := last_seq + 1;
        ids := ids || pending.id;
        seqs := seqs || last_seq;
        prevs := prevs || last_hash;
        last_hash := encode(sha256(convert_to(
            last_hash || ':' || last_seq || ':' || pending.content_hash, 'UTF8')), 'hex');
        hashes := hashes || last_hash;
    END LOOP;
    IF last_seq > head.seq THEN
        -- One statement: the statement-level trigger checks the whole run at once.
        UPDATE journal_entries e SET seq = v.s, prev_hash = v.p, hash = v.h
          FROM unnest(ids, seqs, prevs, hashes) AS v(id, s, p, h) WHERE e.id = v.id;
    END IF;
    RETURN last_seq - head.seq;
END $$
""",
]
