"""Property tests of the books: random entries and reversals against an independent model.

The database fixture is per test, not per Hypothesis example, so every example opens its
own accounts, tagged ``P<n>`` by a counter, under the demo chart's groups, and computes
every expectation over those accounts only. Whole-book checks (trial balance, ``verify``)
hold for everything posted so far, which is books that must stay consistent anyway.

The model is plain Python over the drafts: for each account, the sum of debit and of
credit postings (in fen), filtered by effective date (``as_of``) or by the op after which
it was taken (``recorded_at``). Balances in the normal direction follow from those sums.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from ledger.accounts import AccountSpec, ensure_accounts
from ledger.balances import balance, balances, trial_balance
from ledger.chain import drain_sealer, seal_pending
from ledger.clock import utcnow
from ledger.db import run_in_transaction
from ledger.entries import EntryDraft, Leg, post_entries, reverse_entry
from ledger.errors import OverdraftError, ReversalError
from ledger.models import Account, Side
from ledger.verify import verify

ACTOR = "test:properties"
MAX_AMOUNT = 10**9
YEAR_START = dt.date(2025, 1, 1)
YEAR_END = dt.date(2025, 12, 31)
DATES_2025 = st.dates(min_value=YEAR_START, max_value=YEAR_END)
D, C = Side.DEBIT, Side.CREDIT

#: Tags of the examples' accounts; unique for the whole run, so examples never share one.
_TAGS = itertools.count(1)

SETTINGS = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
}

#: ``TEST_DATABASE_URL`` as tests/conftest.py reads it.

Totals = dict[str, tuple[int, int]]  # account code -> (debits, credits) in fen


# ------------------------------------------------------------------------- accounts


@dataclass(frozen=True)
class Role:
    """An account every example opens: ``template`` is its code with ``{tag}`` to fill in."""

    template: str
    normal: Side
    memo: bool = False
    no_overdraft: bool = False


PLAIN_ROLES = (
    Role("asset:receivable:{tag}", D),
    Role("asset:special:{tag}", D),  # a special account, but without no_overdraft
    Role("liability:claims-payable:{tag}", C),
    Role("capital:{tag}:a", C),
    Role("capital:{tag}:b", C),
    Role("income:{tag}", C),
    Role("expense:guarantee-loss:{tag}", D),
)
MEMO_ROLES = (
    Role("memo:exposure:ICBC:{tag}", D, memo=True),
    Role("memo:exposure-contra:ICBC-{tag}", C, memo=True),
    Role("memo:counter-guarantees:{tag}", D, memo=True),
)
ROLES = PLAIN_ROLES + MEMO_ROLES
PLAIN = tuple(range(len(PLAIN_ROLES)))
MEMO = tuple(range(len(PLAIN_ROLES), len(ROLES)))
#: Group opened per example above the capital roles: its totals roll up ``capital:{tag}:*``.
CAPITAL_GROUP = "capital:{tag}"


@dataclass(frozen=True)
class Book:
    """One example's accounts."""

    tag: str
    roles: tuple[Role, ...]

    def code(self, role: int) -> str:
        return self.roles[role].template.format(tag=self.tag)

    @property
    def codes(self) -> list[str]:
        return [self.code(n) for n in range(len(self.roles))]

    @property
    def normal(self) -> dict[str, Side]:
        return {self.code(n): r.normal for n, r in enumerate(self.roles)}

    @property
    def memo_codes(self) -> set[str]:
        return {self.code(n) for n, r in enumerate(self.roles) if r.memo}

    @property
    def group(self) -> str:
        return CAPITAL_GROUP.format(tag=self.tag)


def open_book(factory, roles: tuple[Role, ...] = ROLES) -> Book:
    book = Book(f"P{next(_TAGS)}", roles)
    specs = [AccountSpec(book.group, f"性质测试 {book.group}", is_group=True)]
    specs += [
        AccountSpec(book.code(n), f"性质测试 {book.code(n)}", no_overdraft=r.no_overdraft)
        for n, r in enumerate(roles)
    ]
    run_in_transaction(factory, lambda s: ensure_accounts(s, specs))
    return book


# ---------------------------------------------------------------------------- model


@dataclass
class ModelEntry:
    entry_id: int
    date: dt.date
    legs: tuple[tuple[str, Side, int], ...]  # (account code, side, fen)
    op: int  # the op (1-based) whose transaction posted it
    reverses: int | None = None
    reversed_by: int | None = None


def model_totals(
    entries: Iterable[ModelEntry], codes: Iterable[str], *, as_of: dt.date | None = None
) -> Totals:
    sums = {code: [0, 0] for code in codes}
    for entry in entries:
        if as_of is not None and entry.date > as_of:
            continue
        for code, side, amount in entry.legs:
            sums[code][0 if side is D else 1] += amount
    return {code: (d, c) for code, (d, c) in sums.items()}


def net(totals: Totals, normal: dict[str, Side]) -> dict[str, int]:
    """Balances in each account's normal direction."""
    return {code: (d - c if normal[code] is D else c - d) for code, (d, c) in totals.items()}


def add(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
    return {code: a[code] + b[code] for code in a}


def read_totals(session, codes: Iterable[str], **when) -> Totals:
    wanted = set(codes)
    return {b.code: (b.debits, b.credits) for b in balances(session, **when) if b.code in wanted}


def stored_balances(session, codes: Iterable[str]) -> dict[str, int]:
    rows = session.execute(select(Account.code, Account.balance).where(Account.code.in_(codes)))
    return {code: int(b) for code, b in rows}


def assert_trial_balance_zero(session, **when) -> None:
    tb = trial_balance(session, **when)
    assert tb.net == 0, when
    plain_dr, plain_cr = tb.total(memorandum=False)
    memo_dr, memo_cr = tb.total(memorandum=True)
    assert plain_dr == plain_cr, when
    assert memo_dr == memo_cr, when


# ----------------------------------------------------------------------- strategies


def _split(total: int, parts: int):
    """``parts`` positive amounts summing to ``total`` (``total >= parts``)."""
    if parts == 1:
        return st.just([total])
    cuts = st.lists(
        st.integers(1, total - 1), min_size=parts - 1, max_size=parts - 1, unique=True
    ).map(sorted)
    return cuts.map(lambda c: [b - a for a, b in itertools.pairwise([0, *c, total])])


@st.composite
def balanced_legs(draw, roles: tuple[int, ...], legs: int, max_amount: int = MAX_AMOUNT):
    """``legs`` legs on ``roles`` (repeats allowed) whose debits equal their credits."""
    debits = draw(st.integers(1, legs - 1))
    credits = legs - debits
    total = draw(st.integers(max(debits, credits), max_amount))
    out = [(draw(st.sampled_from(roles)), D, fen) for fen in draw(_split(total, debits))]
    out += [(draw(st.sampled_from(roles)), C, fen) for fen in draw(_split(total, credits))]
    return out


@dataclass(frozen=True)
class EntrySpec:
    date: dt.date
    legs: tuple[tuple[int, Side, int], ...]  # (role, side, fen)

    def resolve(self, book: Book) -> tuple[tuple[str, Side, int], ...]:
        return tuple((book.code(role), side, fen) for role, side, fen in self.legs)


@st.composite
def entry_specs(draw):
    """2–4 legs: all ordinary, all memorandum, or two of each (each pair balanced apart)."""
    shape = draw(st.sampled_from(("plain", "memo", "mixed")))
    if shape == "mixed":
        legs = draw(balanced_legs(PLAIN, 2)) + draw(balanced_legs(MEMO, 2))
    else:
        legs = draw(balanced_legs(PLAIN if shape == "plain" else MEMO, draw(st.integers(2, 4))))
    return EntrySpec(draw(DATES_2025), tuple(draw(st.permutations(legs))))


POST_OP = st.tuples(st.just("post"), st.lists(entry_specs(), min_size=1, max_size=3))
#: Reverse the ``hint``-th entry not yet reversed (reversals included), dated ``date``
#: (None: the original's date); ``again`` then tries to reverse it a second time.
REVERSE_OP = st.tuples(
    st.just("reverse"), st.integers(0, 1000), st.none() | DATES_2025, st.booleans()
)
OPS = st.lists(st.one_of(POST_OP, REVERSE_OP), min_size=2, max_size=10)


def draft(spec: EntrySpec, book: Book, n: int) -> EntryDraft:
    legs = tuple(Leg(code, side, fen) for code, side, fen in spec.resolve(book))
    return EntryDraft(spec.date, "test.property", legs, f"{book.tag} #{n}")


# ------------------------------------------------------------------------ properties


@settings(max_examples=50, **SETTINGS)
@given(ops=OPS, probes=st.lists(DATES_2025, max_size=3), pick=st.integers(0, 1000))
def test_random_entries_and_reversals_keep_the_books(chart, ops, probes, pick):
    factory = chart
    book = open_book(factory)
    codes, normal = book.codes, book.normal
    entries: list[ModelEntry] = []
    by_id: dict[int, ModelEntry] = {}
    # snapshots[n]: (a moment just after op n committed, the example's totals then)
    snapshots: list[tuple[dt.datetime, Totals]] = [(utcnow(), model_totals([], codes))]

    for n, op in enumerate(ops, start=1):
        if op[0] == "post":
            drafts = [draft(spec, book, k) for k, spec in enumerate(op[1])]
            posted = run_in_transaction(
                factory, lambda s, d=drafts: post_entries(s, d, actor=ACTOR)
            )
            assert [p.created for p in posted] == [True] * len(drafts)
            assert len({p.entry_id for p in posted} | set(by_id)) == len(by_id) + len(drafts)
            for p, spec in zip(posted, op[1], strict=True):
                entry = ModelEntry(p.entry_id, spec.date, spec.resolve(book), op=n)
                entries.append(entry)
                by_id[p.entry_id] = entry
        else:
            _, hint, date, again = op
            candidates = [e for e in entries if e.reversed_by is None]
            if candidates:
                target = candidates[hint % len(candidates)]
                posted = run_in_transaction(
                    factory,
                    lambda s, t=target, d=date: reverse_entry(
                        s, t.entry_id, actor=ACTOR, effective_date=d
                    ),
                )
                assert posted.created
                mirrored = tuple((code, side.opposite, fen) for code, side, fen in target.legs)
                rev = ModelEntry(
                    posted.entry_id, date or target.date, mirrored, op=n, reverses=target.entry_id
                )
                target.reversed_by = rev.entry_id
                entries.append(rev)
                by_id[rev.entry_id] = rev
                event("reversed an entry" if target.reverses is None else "reversed a reversal")
                # Property 4: reversing restores every balance to what it was before the
                # target was posted, plus whatever was posted since (but the target).
                before = net(snapshots[target.op - 1][1], normal)
                since = [e for e in entries if e.op >= target.op and e not in (target, rev)]
                expected = add(before, net(model_totals(since, codes), normal))
                with factory() as s:
                    assert net(read_totals(s, codes), normal) == expected
                if again:
                    with pytest.raises(ReversalError):
                        run_in_transaction(
                            factory,
                            lambda s, t=target: reverse_entry(s, t.entry_id, actor=ACTOR),
                        )
        moment = recorded_moment(factory)
        model = model_totals(entries, codes)
        with factory() as s:
            # Property 2: debit and credit sums per account, to the fen; normal-direction
            # balances, and the balance column the triggers keep, follow.
            got = read_totals(s, codes)
            assert got == model
            assert stored_balances(s, codes) == net(model, normal)
            # Property 1: the trial balance of the whole books is zero.
            assert_trial_balance_zero(s)
        snapshots.append((moment, got))
    event(f"entries posted: {len(entries) // 5 * 5}+")

    assert drain_sealer(factory.kw["bind"])  # waits for the posters' passes, seals nothing
    with factory() as s:
        # Property 5: the books verify, and every entry was sealed.
        report = verify(s)
        assert report.problems == []
        assert report.unsealed == 0
        model = model_totals(entries, codes)
        expected_net = net(model, normal)
        assert {code: balance(s, code) for code in codes} == expected_net
        # The capital group rolls up its two leaves.
        group = {b.code: b for b in balances(s, under=book.group)}
        leaves = [
            book.code(n) for n, r in enumerate(book.roles) if r.template.startswith("capital:")
        ]
        assert (group[book.group].debits, group[book.group].credits) == (
            sum(model[c][0] for c in leaves),
            sum(model[c][1] for c in leaves),
        )
        assert balance(s, book.group) == sum(expected_net[c] for c in leaves)
        assert set(group) == {book.group, *leaves}

        # Property 5: as recorded at a moment between two ops, the books show exactly what
        # the first of them left (and nothing of the second).
        for moment, then in snapshots:
            assert read_totals(s, codes, recorded_at=moment) == then
            assert_trial_balance_zero(s, recorded_at=moment)
        moment, then = snapshots[pick % len(snapshots)]
        assert {c: balance(s, c, recorded_at=moment) for c in codes} == net(then, normal)

        # Property 3: as-of balances are exact, and monotone in what they include.
        dates = sorted(
            {*probes, *(e.date for e in entries), YEAR_START - dt.timedelta(days=1), YEAR_END}
        )
        earlier: Totals | None = None
        for day in dates:
            got = read_totals(s, codes, as_of=day)
            assert got == model_totals(entries, codes, as_of=day), day
            assert_trial_balance_zero(s, as_of=day)
            if earlier is not None:
                for code in codes:
                    assert earlier[code][0] <= got[code][0], (code, day)
                    assert earlier[code][1] <= got[code][1], (code, day)
            earlier = got
        assert read_totals(s, codes) == earlier  # as_of=None is as of the last date
        if entries:
            last = max(e.date for e in entries)
            assert read_totals(s, codes, as_of=last) == model


@settings(max_examples=25, **SETTINGS)
@given(first=entry_specs(), second=entry_specs())
def test_recorded_at_between_two_posts_shows_the_first_only(chart, first, second):
    factory = chart
    book = open_book(factory)
    codes, normal = book.codes, book.normal
    run_in_transaction(factory, lambda s: post_entries(s, [draft(first, book, 1)], actor=ACTOR))
    between = recorded_moment(factory)
    run_in_transaction(factory, lambda s: post_entries(s, [draft(second, book, 2)], actor=ACTOR))
    e1 = ModelEntry(0, first.date, first.resolve(book), op=1)
    e2 = ModelEntry(0, second.date, second.resolve(book), op=2)
    with factory() as s:
        assert read_totals(s, codes, recorded_at=between) == model_totals([e1], codes)
        assert {c: balance(s, c, recorded_at=between) for c in codes} == net(
            model_totals([e1], codes), normal
        )
        assert read_totals(s, codes) == model_totals([e1, e2], codes)
        # Both filters at once: as of the later entry's date, as recorded in between.
        assert read_totals(s, codes, recorded_at=between, as_of=second.date) == model_totals(
            [e1], codes, as_of=second.date
        )
        assert_trial_balance_zero(s, recorded_at=between)


def recorded_moment(factory) -> dt.datetime:
    """A moment by which everything committed so far is recorded: an entry is recorded
    when it is sealed into the chain, which the sealer thread does a little after commit
    on PostgreSQL; seal now instead of waiting for it."""
    seal_pending(factory.kw["bind"])
    return utcnow()


# ------------------------------------------------------------------------- overdraft

GUARDED_ROLES = (
    Role("asset:special:{tag}", D, no_overdraft=True),
    Role("capital:{tag}:a", C),
    Role("expense:guarantee-loss:{tag}", D),
    Role("asset:receivable:{tag}", D),
)
GUARDED = GUARDED_ROLES[0].template


@st.composite
def guarded_entry_specs(draw):
    """Small entries that often take the guarded account below zero."""
    legs = draw(balanced_legs(tuple(range(len(GUARDED_ROLES))), draw(st.integers(2, 3)), 1_000))
    return EntrySpec(draw(DATES_2025), tuple(draw(st.permutations(legs))))


GUARDED_OPS = st.lists(
    st.one_of(
        st.tuples(st.just("post"), st.lists(guarded_entry_specs(), min_size=1, max_size=2)),
        st.tuples(st.just("reverse"), st.integers(0, 1000)),
    ),
    min_size=1,
    max_size=10,
)


@settings(max_examples=40, **SETTINGS)
@given(ops=GUARDED_OPS)
def test_no_overdraft_account_never_goes_negative(chart, ops):
    """A batch that would take a no-overdraft account below zero at any entry is refused
    whole with OverdraftError and changes nothing; every other batch posts."""
    factory = chart
    book = open_book(factory, GUARDED_ROLES)
    codes, normal = book.codes, book.normal
    guarded = GUARDED.format(tag=book.tag)
    entries: list[ModelEntry] = []

    def refused(batch: list[tuple[tuple[str, Side, int], ...]]) -> bool:
        running = net(model_totals(entries, codes), normal)[guarded]
        for legs in batch:
            running += sum(
                fen if side is D else -fen for code, side, fen in legs if code == guarded
            )
            if running < 0:
                return True
        return False

    for n, op in enumerate(ops, start=1):
        if op[0] == "post":
            specs = op[1]
            batch = [spec.resolve(book) for spec in specs]
            drafts = [draft(spec, book, k) for k, spec in enumerate(specs)]
            work = lambda s, d=drafts: post_entries(s, d, actor=ACTOR)  # noqa: E731
            dates = [spec.date for spec in specs]
        else:
            candidates = [e for e in entries if e.reversed_by is None]
            if not candidates:
                continue
            target = candidates[op[1] % len(candidates)]
            batch = [tuple((code, side.opposite, fen) for code, side, fen in target.legs)]
            work = lambda s, t=target: [reverse_entry(s, t.entry_id, actor=ACTOR)]  # noqa: E731
            dates = [target.date]
        event("refused" if refused(batch) else "posted")
        if refused(batch):
            with pytest.raises(OverdraftError) as info:
                run_in_transaction(factory, work)
            assert info.value.account_code == guarded
        else:
            posted = run_in_transaction(factory, work)
            for p, legs, date in zip(posted, batch, dates, strict=True):
                entries.append(ModelEntry(p.entry_id, date, legs, op=n))
            if op[0] == "reverse":
                target.reversed_by = posted[0].entry_id
        model = model_totals(entries, codes)
        with factory() as s:
            assert read_totals(s, codes) == model
            assert stored_balances(s, codes) == net(model, normal)
            assert balance(s, guarded) >= 0
    with factory() as s:
        assert verify(s).problems == []


# ------------------------------------------------------------------ subtree balances

CASE_VARIANTS = ("grp", "GRP", "Grp", "gRP")


@settings(max_examples=10, **SETTINGS)
@given(
    groups=st.lists(st.sampled_from(CASE_VARIANTS), min_size=2, max_size=4, unique=True),
    amounts=st.lists(st.integers(1, MAX_AMOUNT), min_size=4, max_size=4),
)
def test_subtree_balance_counts_only_its_own_subtree(chart, groups, amounts):
    """Codes are case-sensitive (``code`` is unique as written): a group's balance covers
    its own sub-accounts, not those of a group whose code differs only in case."""
    factory = chart
    tag = f"P{next(_TAGS)}"
    counter = f"asset:receivable:{tag}"
    specs = [
        AccountSpec(counter, "对方"),
        AccountSpec(f"capital:{tag}", "组", is_group=True),
    ]
    for g in groups:
        specs += [
            AccountSpec(f"capital:{tag}:{g}", g, is_group=True),
            AccountSpec(f"capital:{tag}:{g}:x", g),
        ]
    run_in_transaction(factory, lambda s: ensure_accounts(s, specs))
    drafts = [
        EntryDraft(
            YEAR_START,
            "test.property",
            (Leg(counter, D, fen), Leg(f"capital:{tag}:{g}:x", C, fen)),
        )
        for g, fen in zip(groups, amounts, strict=False)
    ]
    run_in_transaction(factory, lambda s: post_entries(s, drafts, actor=ACTOR))
    with factory() as s:
        for g, fen in zip(groups, amounts, strict=False):
            code = f"capital:{tag}:{g}"
            assert balance(s, code) == fen, code
            assert {b.code for b in balances(s, under=code)} == {code, f"{code}:x"}, code
        assert balance(s, f"capital:{tag}") == sum(amounts[: len(groups)])
