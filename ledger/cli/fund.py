"""``fundledger <area> <action> …``: the guarantee fund's operations on the command line.

Amounts are yuan (``1234.50``, at most two decimals), rates are percent a year (``4.35``),
dates are ``YYYY-MM-DD``. Every command that changes the books takes ``--actor`` (default:
the ``FUNDLEDGER_ACTOR`` environment variable). Refusals print ``error: …`` and, below it,
the same message in Chinese (``错误：…``), and exit 1; a malformed option exits 2.

:func:`register` adds the groups to the ``fundledger`` command (``ledger.cli``).
"""

from __future__ import annotations

import datetime as dt
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import replace
from decimal import Decimal
from typing import Any, TypeVar

import click
from sqlalchemy.orm import Session

from ledger.chain import drain_sealer
from ledger.cli import reports
from ledger.cli.options import actor_of, parse_date
from ledger.clock import CHINA_OFFSET
from ledger.db import run_in_transaction
from ledger.errors import FilterError
from ledger.fund import (
    access,
    borrowers,
    capital,
    claims,
    corrections,
    credentials,
    erasure,
    fees,
    funds,
    guarantees,
    loans,
    personal,
    policy,
    queries,
    recoveries,
    reference,
    subsidy,
)
from ledger.fund.books import PPM, share
from ledger.fund.eligibility import (
    BORROWER_TYPE_NAMES_ZH,
    CATEGORY_NAMES_ZH,
    BorrowerType,
    Category,
    parse_categories,
)
from ledger.fund.errors import FundError
from ledger.fund.leverage import compensation_rate_ppm, placements_as_of, repayment_rate_ppm
from ledger.fund.models import CITY_FUND, AllocationStatus, ClaimStatus, LoanStatus
from ledger.fund.read.allocations import ALLOCATION_SORTS, allocations_page
from ledger.fund.read.borrowers import DECLARED, borrower_detail, borrowers_page, erasable_page
from ledger.fund.read.claims import CLAIM_SORTS, claims_page
from ledger.fund.read.loans import LOAN_SORTS, CounterGuaranteeView, loan_detail, loans_page
from ledger.fund.schedule import METHOD_NAMES_ZH, Method, parse_method
from ledger.fund.trades import PROJECT_KIND_NAMES_ZH, PROJECT_KINDS, trade_name_zh
from ledger.money import MoneyError, format_percent, format_times, format_yuan, yuan_to_fen
from ledger.paging import Page

T = TypeVar("T")

# --------------------------------------------------------------------------- option values


_actor = actor_of
_date = parse_date


def _fen(_ctx, _param, value):
    """A yuan amount (at most 2 decimals) as fen; refuses floats' rounding by construction."""
    if value is None:
        return None
    try:
        return yuan_to_fen(value)
    except MoneyError as exc:
        raise click.BadParameter(str(exc)) from None


_PERCENT = re.compile(r"^\d{1,3}(\.\d{1,4})?$")


def percent_to_ppm(text: str) -> int:
    """``"4.35"`` (percent a year) → ``43_500`` ppm, exactly; at most 4 decimals."""
    value = text.strip().removesuffix("%").strip()
    if not _PERCENT.match(value):
        raise ValueError(
            f"{text!r} is not a rate in percent with at most 4 decimals (e.g. 4.35 for 4.35%)"
        )
    return int(Decimal(value).scaleb(4))


def _ppm(_ctx, _param, value):
    if value is None:
        return None
    try:
        return percent_to_ppm(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _method(_ctx, _param, value):
    if value is None:
        return None
    try:
        return parse_method(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


_TYPE_BY_NAME = {t.value: t for t in BorrowerType} | {
    zh: t for t, zh in BORROWER_TYPE_NAMES_ZH.items()
}


def _borrower_type(_ctx, _param, value):
    kind = _TYPE_BY_NAME.get(value.strip().lower()) or _TYPE_BY_NAME.get(value.strip())
    if kind is None:
        known = ", ".join(f"{t.value} ({BORROWER_TYPE_NAMES_ZH[t]})" for t in BorrowerType)
        raise click.BadParameter(f"{value!r} is not a borrower type; use one of: {known}")
    return kind


def _categories(_ctx, _param, values):
    found: set[Category] = set()
    for value in values:
        try:
            found |= parse_categories(value)
        except FundError as exc:
            known = ", ".join(c.value for c in Category)
            raise click.BadParameter(f"{exc}; known categories: {known}") from None
    return frozenset(found)


_CG_KINDS = {k: k for k in guarantees.KINDS} | {zh: k for k, zh in guarantees.KIND_NAMES_ZH.items()}


def _counter_guarantees(_ctx, _param, values):
    specs = []
    for value in values:
        parts = value.split(":", 2)
        if len(parts) != 3:
            raise click.BadParameter(
                f"{value!r}: write KIND:VALUE_YUAN:DESCRIPTION, e.g. mortgage:300000:房产证 123号"
            )
        kind, amount, description = (p.strip() for p in parts)
        if kind not in _CG_KINDS:
            raise click.BadParameter(
                f"{value!r}: kind {kind!r} is not one of {', '.join(guarantees.KINDS)}"
            )
        try:
            fen = yuan_to_fen(amount)
        except MoneyError as exc:
            raise click.BadParameter(f"{value!r}: {exc}") from None
        specs.append(guarantees.CounterGuaranteeSpec(_CG_KINDS[kind], fen, description=description))
    return tuple(specs)


def _guarantors(_ctx, _param, values):
    specs = []
    for value in values:
        parts = [p.strip() for p in value.split(":")]
        if len(parts) != 3 or not all(parts):
            raise click.BadParameter(
                f"{value!r}: write NAME:ID_NUMBER:EMPLOYER_TYPE, employer type one of "
                f"{', '.join(guarantees.EMPLOYER_TYPES)}"
            )
        name, number, employer = parts
        specs.append(
            guarantees.CounterGuaranteeSpec(
                "guarantor", 0, guarantor_name=name, guarantor_id_number=number,
                employer_type=employer,
            )
        )  # fmt: skip
    return tuple(specs)


def _actor_option(f):
    return click.option("--actor", help="The user who acts (default: $FUNDLEDGER_ACTOR).")(f)


def _unmasked_option(f):
    """``--unmasked`` (and ``--actor`` to say who asks): names and ID numbers are shown
    masked unless a user allowed to see them whole asks for it."""
    f = click.option("--actor", help="Who asks, for --unmasked (default: $FUNDLEDGER_ACTOR).")(f)
    return click.option(
        "--unmasked",
        is_flag=True,
        help="Names and ID numbers whole (a clerk, an approver or an admin).",
    )(f)


def _shown(session: Session, value: T, unmasked: bool, actor: str | None) -> T:
    """``value`` as its reader may see it: masked, or whole when they may and asked to."""
    if unmasked:
        personal.check_whole_view(session, _actor(actor))
        return value
    return value.masked()


def _shown_page(session: Session, page: Page, unmasked: bool, actor: str | None) -> Page:
    """A page of values as its reader may see them (:func:`_shown`)."""
    if unmasked:
        personal.check_whole_view(session, _actor(actor))
        return page
    return replace(page, items=tuple(item.masked() for item in page.items))


_BORROWER_KEY = re.compile(r"^#?(\d{1,12})$")


def _borrower_key(_ctx, _param, value):
    """A borrower named by id (``#12`` or ``12``) or by resident ID number."""
    found = _BORROWER_KEY.match(value.strip())
    return int(found.group(1)) if found else value


def _borrower_id(session: Session, key: int | str) -> int:
    return key if isinstance(key, int) else borrowers.get_borrower(session, key).id


def _on_option(help_text: str = "Effective date."):
    return click.option("--on", "on", required=True, callback=_date, help=help_text)


# --------------------------------------------------------------------------- formatting


def _yuan(fen: int | None) -> str:
    return "-" if fen is None else format_yuan(fen)


def _table(rows: list[list[str]], right: Iterable[int] = ()) -> list[str]:
    """Rows of cells as aligned lines; columns in ``right`` are right-aligned."""
    right = set(right)
    widths = [max(_width(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = []
        for i, cell in enumerate(row):
            pad = " " * (widths[i] - _width(cell))
            cells.append(pad + cell if i in right else cell + pad)
        lines.append("  ".join(cells).rstrip())
    return lines


def _width(text: str) -> int:
    """Display width: CJK characters take two columns."""
    return sum(2 if "\u2e80" <= ch <= "\u9fff" or "\uff00" <= ch <= "\uffef" else 1 for ch in text)


def _echo_table(rows: list[list[str]], right: Iterable[int] = ()) -> None:
    for line in _table(rows, right):
        click.echo(line)


def _kv(label: str, value: str) -> None:
    click.echo(f"{label:<19}{value}")


def _echo_page(page: Page, header: list[str], row: Callable, right: Iterable[int] = ()) -> None:
    """A page as a table (nothing when it is empty) and, when there is a next page, the
    option that asks for it."""
    if page.items:
        _echo_table([header, *(row(item) for item in page.items)], right)
    if page.next_before is not None:
        click.echo(f"next page: --before {page.next_before}")
    elif page.next_after is not None:
        click.echo(f"next page: --sort {page.sort} --after {page.next_after}")


def _paging_options(f):
    f = click.option("--limit", default=50, show_default=True, type=int, help="Rows a page.")(f)
    return click.option("--before", type=int, help="Only ids below this (the next page).")(f)


def _sorting_options(keys: Iterable[str]):
    """``--sort`` among ``keys`` (and id) and ``--after``, the cursor of a sorted list's
    next page, beside :func:`_paging_options`."""
    names = ", ".join(["id", *keys])

    def add(f):
        f = click.option(
            "--after", help="The cursor of the next page of a sorted list, as printed."
        )(f)
        return click.option(
            "--sort",
            help=f"Sort by one of: {names}; a leading - for descending (-principal). "
            "Default: newest first.",
        )(f)

    return add


def _values(choices: Iterable[str]) -> str:
    return "One of: " + ", ".join(choices) + "."


# --------------------------------------------------------------------------- running


def _write(obj, work: Callable[[Session], T]) -> T:
    """Run ``work`` in one committed transaction and wait for its entries to be sealed."""
    result = run_in_transaction(obj.factory, work)
    drain_sealer(obj.engine)
    return result


def _today() -> dt.date:
    return policy.today_local()


def _read(obj, work: Callable[[Session], T]) -> T:
    """Call a read function in a session of its own; a filter it refuses is a usage error."""
    try:
        with obj.factory() as s:
            return work(s)
    except FilterError as exc:
        raise click.UsageError(str(exc)) from None


# --------------------------------------------------------------------------- reference data


@click.group()
def district():
    """Districts (区县)."""


@district.command("add")
@click.argument("code")
@click.argument("name")
@_actor_option
@click.pass_obj
def district_add(obj, code, name, actor):
    """Add district CODE named NAME (admin)."""
    _write(obj, lambda s: reference.add_district(s, code, name, actor=_actor(actor)))
    click.echo(f"district {code} added: {name.strip()}")


@click.group("fund")
def fund_group():
    """Funds: the city's and each district's own (担保基金)."""


@fund_group.command("add")
@click.argument("code")
@click.argument("name")
@click.option("--district", "district_code", required=True, help="The district it belongs to.")
@click.option("--established", "established_on", required=True, callback=_date,
              help="The date it was set up.")  # fmt: skip
@_actor_option
@click.pass_obj
def fund_add(obj, code, name, district_code, established_on, actor):
    """Add district DISTRICT's own fund CODE named NAME (admin); opens its treasury and
    its accounts at every partner bank."""
    _write(
        obj,
        lambda s: funds.add_fund(s, code, name, district_code, established_on, actor=_actor(actor)),
    )
    click.echo(f"fund {code} added: {name.strip()} (district {district_code}, {established_on})")


@fund_group.command("list")
@click.pass_obj
def fund_list(obj):
    """Every fund: code, name, district, date set up."""
    with obj.factory() as s:
        rows = [
            [f.code, f.name, f.district or "-", str(f.established_on or "-")]
            for f in funds.funds(s)
        ]
    _echo_table([["fund", "name", "district", "established"], *rows])


def _fund_option(help_text: str = "The fund (default: the city-level fund, CITY)."):
    return click.option("--fund", "fund_code", default=CITY_FUND, show_default=True,
                        help=help_text)  # fmt: skip


def _of_fund(code: str) -> str:
    """ " of fund D01" for a district's fund; nothing for the city-level fund."""
    return "" if code == CITY_FUND else f" of fund {code}"


def _fund_filter(f):
    return click.option(
        "--fund", "fund_code", help="One fund only (default: every fund, consolidated)."
    )(f)


@click.group()
def bank():
    """Partner banks (经办银行)."""


@bank.command("add")
@click.argument("code")
@click.argument("name")
@click.argument("account_no")
@_actor_option
@click.pass_obj
def bank_add(obj, code, name, account_no, actor):
    """Add partner bank CODE named NAME with special account ACCOUNT_NO (admin)."""
    _write(obj, lambda s: reference.add_bank(s, code, name, account_no, actor=_actor(actor)))
    click.echo(f"bank {code} added: {name.strip()}, special account {account_no.strip()}")


@bank.command("list")
@click.pass_obj
def bank_list(obj):
    """Every partner bank: code, name, special account number, status."""
    with obj.factory() as s:
        rows = [
            [b.code, b.name, b.special_account_no, "active" if b.active else "inactive"]
            for b in reference.banks(s)
        ]
    if rows:
        _echo_table(rows)


@click.group()
def source():
    """Capital sources (资金来源)."""


@source.command("add")
@click.argument("code")
@click.argument("name")
@click.argument("kind", type=click.Choice([k.value for k in reference.SourceKind]))
@click.option("--district", "district_code", help="The district of a district matching source.")
@click.option("--committed", callback=_fen, help="Yuan the source must or pledged to give.")
@click.option("--due", "due_on", callback=_date, help="The date the committed money is due by.")
@_fund_option("The fund it contributes to (default: the city-level fund, CITY).")
@_actor_option
@click.pass_obj
def source_add(obj, code, name, kind, district_code, committed, due_on, fund_code, actor):
    """Add capital source CODE named NAME of KIND (admin)."""
    _write(
        obj,
        lambda s: reference.add_capital_source(
            s, code, name, kind, actor=_actor(actor), district=district_code,
            committed=committed, due_on=due_on, fund=fund_code,
        ),
    )  # fmt: skip
    extra = f", committed {format_yuan(committed)} yuan" if committed is not None else ""
    extra += f" due {due_on}" if due_on is not None else ""
    where = f" of district {district_code}" if district_code else ""
    click.echo(f"capital source {code} added: {name.strip()} ({kind}{where}{extra})")


@click.group()
def user():
    """Users and their roles; passwords, unlocking after failed sign-ins."""


@user.command("add")
@click.argument("username")
@click.argument("name")
@click.option(
    "--role",
    "roles",
    multiple=True,
    required=True,
    type=click.Choice([r.value for r in reference.Role]),
)
@click.option("--bank", "bank_code", help="The bank of a bank user.")
@_actor_option
@click.pass_obj
def user_add(obj, username, name, roles, bank_code, actor):
    """Add user USERNAME named NAME (admin; the first user: --actor system)."""
    row = _write(
        obj,
        lambda s: reference.add_user(s, username, name, roles, actor=_actor(actor), bank=bank_code),
    )
    at = f" at {bank_code}" if bank_code else ""
    click.echo(f"user {username} added: {name.strip()} ({row.roles}{at})")


@user.command("password")
@click.argument("username")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from standard input instead of prompting: the new password "
    "on one line, after the current one on the line before when changing your own.",
)
@_actor_option
@click.pass_obj
def user_password(obj, username, password_stdin, actor):
    """Change your own password (you give the current one), or, as an admin, reset
    USERNAME's: they must change it at their next sign-in."""
    acting = _actor(actor)
    own = acting == username
    if password_stdin:
        lines = sys.stdin.read().splitlines()
        if len(lines) < (2 if own else 1):
            raise click.UsageError(
                "give the current password and the new one on two lines"
                if own
                else "give the new password on the first line"
            )
        current, new = (lines[0], lines[1]) if own else (None, lines[0])
    else:
        current = click.prompt("Current password", hide_input=True) if own else None
        new = click.prompt("New password", hide_input=True, confirmation_prompt=True)
    account = _write(
        obj,
        lambda s: access.set_password(s, username, new, actor=acting, current=current),
    )
    if account.must_change_password:
        click.echo(f"password of {username} reset; they must change it at their next sign-in")
    else:
        click.echo(f"password of {username} changed")


@user.command("unlock")
@click.argument("username")
@_actor_option
@click.pass_obj
def user_unlock(obj, username, actor):
    """Unlock USERNAME's account after failed sign-ins (admin)."""
    _write(obj, lambda s: access.unlock(s, username, actor=_actor(actor)))
    click.echo(f"user {username} unlocked")


@user.command("list")
@_actor_option
@click.pass_obj
def user_list(obj, actor):
    """Users, their roles and whether they can sign in (admin)."""
    found = _read(obj, lambda s: access.accounts(s, actor=_actor(actor)))
    rows = [["user", "name", "roles", "bank", "sign-in", "last sign-in (China time)"]]
    for a in found:
        if not a.active:
            state = "inactive"
        elif a.locked_until is not None:
            state = f"locked until {_china(a.locked_until):%Y-%m-%d %H:%M}"
        elif not a.has_password:
            state = "no password"
        elif a.must_change_password:
            state = "must change password"
        else:
            state = "ok"
        last = f"{_china(a.last_login_at):%Y-%m-%d %H:%M}" if a.last_login_at else "-"
        rows.append([a.username, a.name, ",".join(a.roles), a.bank or "-", state, last])
    _echo_table(rows)


def _china(moment: dt.datetime) -> dt.datetime:
    return moment + CHINA_OFFSET


# --------------------------------------------------------------------------- borrowers


@click.group()
def borrower():
    """Borrowers (借款人), keyed by their resident ID number."""


@borrower.command("add")
@click.option("--id-number", required=True, help="18-character resident ID number.")
@click.option("--name", required=True)
@click.option("--district", "district_code", required=True)
@click.option(
    "--type",
    "borrower_type",
    default="individual",
    show_default=True,
    callback=_borrower_type,
    help="individual, partnership or small_enterprise (or 个人, 合伙创业, 小微企业).",
)
@click.option("--heads", default=1, show_default=True, type=int, help="Partners (partnership).")
@click.option(
    "--category",
    "categories",
    multiple=True,
    callback=_categories,
    help="A category, English or Chinese (e.g. registered_unemployed or 登记失业人员).",
)
@_actor_option
@click.pass_obj
def borrower_add(obj, id_number, name, district_code, borrower_type, heads, categories, actor):
    """Register a borrower."""
    row = _write(
        obj,
        lambda s: borrowers.register_borrower(
            s,
            id_number=id_number,
            name=name,
            district=district_code,
            borrower_type=borrower_type,
            categories=categories,
            head_count=heads,
            actor=_actor(actor),
        ),
    )
    cats = row.categories.replace(",", ", ") or "no category"
    click.echo(f"borrower {row.id_number} registered: {row.name} ({row.borrower_type}, {cats})")


@borrower.command("show")
@click.argument("key", metavar="BORROWER", callback=_borrower_key)
@click.option("--on", "on", callback=_date, help="Date the categories apply on (default today).")
@_unmasked_option
@click.pass_obj
def borrower_show(obj, key, on, unmasked, actor):
    """A borrower (an ID number, or #id), their categories, commitments, loans,
    certificates and corrections; names and numbers masked unless --unmasked."""
    on = on or _today()

    def read(s):
        whole = borrower_detail(s, key)
        cats = None if whole.borrower.erased else whole.borrower.categories_on(on)
        return _shown(s, whole, unmasked, actor), cats

    detail, cats = _read(obj, read)
    b = detail.borrower
    given = f" (given as the first-generation {b.id_number_given})" if b.id_number_given else ""
    _kv("borrower", f"#{b.id} {b.name} {b.id_number}{given}")
    if b.erased:
        _kv("erased", f"by {b.erased_by} at {b.erased_at:%Y-%m-%d %H:%M} UTC")
    born = b.birth_date.year if b.birth_year_only else b.birth_date
    _kv("born", f"{born}, {'male' if b.sex == 'M' else 'female'}")
    _kv("district", b.district)
    heads = f", {b.head_count} partners" if b.borrower_type == "partnership" else ""
    _kv("type", f"{b.borrower_type} ({BORROWER_TYPE_NAMES_ZH[b.borrower_type]}){heads}")
    _kv("declared", ", ".join(b.categories) or "none")
    if cats is not None:
        shown = ", ".join(f"{c.value} ({CATEGORY_NAMES_ZH[c]})" for c in Category if c in cats)
        _kv("categories", f"{shown or 'none'} (on {on})")
    _kv("registered", f"by {b.registered_by} at {b.registered_at:%Y-%m-%d %H:%M} UTC")
    for c in detail.corrections:
        values = f": {c.old_value} → {c.new_value}" if c.old_value is not None else ""
        _kv(
            "corrected",
            f"{c.field}{values} by {c.corrected_by} at {c.corrected_at:%Y-%m-%d %H:%M} UTC "
            f"({c.reason})",
        )
    for c in detail.credentials:
        revoked = f", revoked {c.revoked_on} ({c.revoke_reason})" if c.revoked_on else ""
        _kv("certificate", f"{c.kind} {c.number}, {c.issued_by}, issued {c.issued_on}{revoked}")
    for c in detail.commitments:
        _kv(
            "commitment",
            f"{c.number} {c.status} {format_yuan(c.amount)} yuan, {c.term_months} months, "
            f"approved {c.approved_on}",
        )
    for ln in detail.loans:
        _kv(
            "loan",
            f"{ln.bank_code} {ln.contract_no} {ln.status} {format_yuan(ln.principal)} yuan, "
            f"{ln.disbursed_on} to {ln.maturity}",
        )


@borrower.group("certificate")
def certificate():
    """Certificates the labour office issued a borrower (再就业优惠证)."""


@certificate.command("add")
@click.argument("id_number")
@click.option("--number", required=True, help="The number printed on the certificate.")
@click.option("--issued-by", required=True, help="The issuing office.")
@click.option("--issued-on", required=True, callback=_date)
@click.option("--kind", default="reemployment_certificate", show_default=True)
@_actor_option
@click.pass_obj
def certificate_add(obj, id_number, number, issued_by, issued_on, kind, actor):
    """Register the certificate the borrower with ID_NUMBER holds (a clerk's)."""
    row = _write(
        obj,
        lambda s: credentials.register_credential(
            s, id_number, kind, number, issued_by=issued_by, issued_on=issued_on,
            actor=_actor(actor),
        ),
    )  # fmt: skip
    click.echo(f"{row.kind} {row.number} registered to borrower #{row.borrower_id}")


@certificate.command("revoke")
@click.argument("number")
@click.option("--on", "on", required=True, callback=_date, help="Date the office revoked it.")
@click.option("--reason", required=True)
@click.option("--kind", default="reemployment_certificate", show_default=True)
@_actor_option
@click.pass_obj
def certificate_revoke(obj, number, on, reason, kind, actor):
    """Record that certificate NUMBER was revoked (an approver's)."""
    row = _write(
        obj,
        lambda s: credentials.revoke_credential(
            s, kind, number, on=on, reason=reason, actor=_actor(actor)
        ),
    )
    click.echo(f"{row.kind} {row.number} revoked on {row.revoked_on}")


@borrower.command("list")
@click.option("--district", "district_code", help="Borrowers of this district.")
@click.option("--category", help="Who declared this category. " + _values(DECLARED))
@click.option(
    "--erasable",
    is_flag=True,
    help="Only those whose personal data may be erased today (retention period ended).",
)
@_paging_options
@_unmasked_option
@click.pass_obj
def borrower_list(obj, district_code, category, erasable, before, limit, unmasked, actor):
    """Borrowers, the most recently registered first; names and ID numbers masked unless
    --unmasked."""
    if erasable:
        if district_code or category:
            raise click.UsageError("--erasable lists every district and category")
        _erasable_list(obj, before, limit, unmasked, actor)
        return
    page = _read(
        obj,
        lambda s: _shown_page(
            s,
            borrowers_page(
                s, district=district_code, category=category, before=before, limit=limit
            ),
            unmasked,
            actor,
        ),
    )
    _echo_page(
        page,
        ["id", "ID number", "name", "district", "type", "categories"],
        lambda b: [
            str(b.id), b.id_number, b.name, b.district, b.borrower_type,
            ", ".join(b.categories) or "-",
        ],
        right=(0,),
    )  # fmt: skip


def _erasable_list(obj, before, limit, unmasked, actor):
    page = _read(
        obj,
        lambda s: _shown_page(
            s, erasable_page(s, today=_today(), before=before, limit=limit), unmasked, actor
        ),
    )
    _echo_page(
        page,
        ["id", "ID number", "name", "district", "closed", "erasable from"],
        lambda r: [
            str(r.borrower.id), r.borrower.id_number, r.borrower.name, r.borrower.district,
            f"{r.closed_on}{' (registered)' if r.from_registration else ''}",
            str(r.erasable_from),
        ],
        right=(0,),
    )  # fmt: skip


@borrower.command("correct")
@click.argument("key", metavar="BORROWER", callback=_borrower_key)
@click.option("--name", help="The name as it should read.")
@click.option("--id-number", help="The resident ID number as it should read.")
@click.option("--reason", required=True, help="Why (kept with the correction).")
@_actor_option
@click.pass_obj
def borrower_correct(obj, key, name, id_number, reason, actor):
    """Correct the name or ID number of BORROWER (an ID number, or #id) (a clerk's)."""
    row = _write(
        obj,
        lambda s: corrections.correct_borrower(
            s, _borrower_id(s, key), name=name, id_number=id_number, reason=reason,
            actor=_actor(actor),
        ),
    )  # fmt: skip
    click.echo(f"borrower #{row.id} corrected: {row.name} {row.id_number}")


@borrower.command("erase")
@click.argument("key", metavar="BORROWER", callback=_borrower_key)
@_actor_option
@click.pass_obj
def borrower_erase(obj, key, actor):
    """Erase the personal data of BORROWER (an ID number, or #id) once its retention
    period has ended (an admin's); the books keep only ids."""
    row = _write(
        obj,
        lambda s: erasure.erase_personal_data(s, _borrower_id(s, key), actor=_actor(actor)),
    )
    click.echo(f"borrower #{row.id}: personal data erased ({row.id_number})")


# --------------------------------------------------------------------------- policy


@click.group("policy")
def policy_group():
    """The rules in force: national eras and the locality's overrides."""


def _policy_value(unit: str, value: Any) -> str:
    if isinstance(value, tuple | list):
        return ", ".join(_policy_value(unit, v) for v in value) or "(none)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        if unit == "_fen":
            return f"{format_yuan(value)} yuan"
        if unit == "_ppm":
            return format_percent(value)
        if unit == "_bp":
            return f"{value} bp"
    return str(value)


def _policy_lines(params, prefix: str = "") -> list[tuple[str, str]]:
    from ledger.fund.policy import value_unit

    lines = []
    for key in sorted(params):
        value = params[key]
        path = f"{prefix}{key}"
        if hasattr(value, "items"):
            lines += _policy_lines(value, f"{path}.")
        else:
            lines.append((path, _policy_value(value_unit(path), value)))
    return lines


@policy_group.command("show")
@click.option("--on", "on", callback=_date, help="Date (default: today, China time).")
@click.pass_obj
def policy_show(obj, on):
    """The rule set in force on a date, one parameter a line, and where it comes from."""
    on = on or _today()
    with obj.factory() as s:
        rules = policy.rules_on(s, on)
    click.echo(f"rules in force on {on} (since {rules.effective_from})")
    click.echo(f"sources: {', '.join(rules.sources)}")
    lines = _policy_lines(rules.params)
    width = max(len(k) for k, _ in lines)
    for key, value in lines:
        click.echo(f"{key:<{width}}  {value}")
    cap = rules.rate_cap_on(on)
    click.echo(f"{'rate cap on ' + str(on):<{width}}  {format_percent(cap)}")


@policy_group.command("history")
@click.pass_obj
def policy_history(obj):
    """Every national era and local override, by date."""
    with obj.factory() as s:
        history = policy.rule_history(s)
    for when, where in history:
        click.echo(f"{when}  {where}")


@policy_group.command("load")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option(
    "--backdated",
    is_flag=True,
    help="Allow dates before today: a bureau recording its rules with their real dates, "
    "before any guarantee, loan or claim they would govern.",
)
@_actor_option
@click.pass_obj
def policy_load(obj, file, backdated, actor):
    """Record the locality's overrides in FILE (TOML, [[override]] tables; admin)."""
    who = _actor(actor)
    overrides = policy.load_overrides_file(file)

    def work(s):
        reference.require_role(s, who, reference.Role.ADMIN)
        rows = []
        for effective_from, params, note in overrides:
            row = policy.record_override(
                s, effective_from=effective_from, params=params, actor=who, note=note,
                backdated=backdated,
            )  # fmt: skip
            s.flush()
            rows.append((row.id, effective_from, sorted(params)))
        return rows

    for row_id, effective_from, keys in _write(obj, work):
        click.echo(f"override {row_id} in force from {effective_from}: {', '.join(keys)}")


# --------------------------------------------------------------------------- capital


@click.group("capital")
def capital_group():
    """Capital: allocations, placement at banks, deposit interest, guarantee fees, capital by
    source."""


@capital_group.command("allocate")
@click.argument("source_code", metavar="SOURCE")
@click.argument("amount", metavar="YUAN", callback=_fen)
@click.option("--received-on", required=True, callback=_date)
@click.option("--reference", "ref", default="", help="The allocation document's number.")
@click.option("--note", default="")
@_actor_option
@click.pass_obj
def capital_allocate(obj, source_code, amount, received_on, ref, note, actor):
    """Record money received from SOURCE (clerk); another user approves it."""
    row = _write(
        obj,
        lambda s: capital.record_allocation(
            s, source_code, amount, received_on, actor=_actor(actor), reference=ref, note=note
        ),
    )
    click.echo(
        f"allocation {row.id} recorded: {source_code} {format_yuan(amount)} yuan received "
        f"{received_on}, pending approval"
    )


@capital_group.command("approve")
@click.argument("allocation_id", metavar="ID", type=int)
@_actor_option
@click.pass_obj
def capital_approve(obj, allocation_id, actor):
    """Approve allocation ID (an approver other than the recording clerk)."""
    row = _write(obj, lambda s: capital.approve_allocation(s, allocation_id, actor=_actor(actor)))
    click.echo(
        f"allocation {row.id} approved: {row.source_code} {format_yuan(row.amount)} yuan "
        f"(entry {row.entry_id})"
    )


@capital_group.command("reject")
@click.argument("allocation_id", metavar="ID", type=int)
@click.option("--reason", required=True)
@_actor_option
@click.pass_obj
def capital_reject(obj, allocation_id, reason, actor):
    """Reject allocation ID."""
    row = _write(
        obj, lambda s: capital.reject_allocation(s, allocation_id, reason, actor=_actor(actor))
    )
    click.echo(f"allocation {row.id} rejected: {row.reject_reason}")


@capital_group.command("place")
@click.argument("bank_code", metavar="BANK")
@click.argument("amount", metavar="YUAN", callback=_fen)
@_on_option()
@_fund_option()
@_actor_option
@click.pass_obj
def capital_place(obj, bank_code, amount, on, fund_code, actor):
    """Move YUAN from the fund's treasury into its special account at BANK."""
    entry = _write(
        obj,
        lambda s: capital.place_capital(
            s, bank_code, amount, on, actor=_actor(actor), fund=fund_code
        ),
    )
    click.echo(
        f"placed {format_yuan(amount)} yuan{_of_fund(fund_code)} at {bank_code} on {on} "
        f"(entry {entry})"
    )


@capital_group.command("withdraw")
@click.argument("bank_code", metavar="BANK")
@click.argument("amount", metavar="YUAN", callback=_fen)
@_on_option()
@_fund_option()
@_actor_option
@click.pass_obj
def capital_withdraw(obj, bank_code, amount, on, fund_code, actor):
    """Move YUAN from the fund's special account at BANK back to its treasury."""
    entry = _write(
        obj,
        lambda s: capital.withdraw_capital(
            s, bank_code, amount, on, actor=_actor(actor), fund=fund_code
        ),
    )
    click.echo(
        f"withdrew {format_yuan(amount)} yuan{_of_fund(fund_code)} from {bank_code} on {on} "
        f"(entry {entry})"
    )


@capital_group.command("interest")
@click.argument("bank_code", metavar="BANK")
@click.argument("amount", metavar="YUAN", callback=_fen)
@_on_option("Date the bank credited the interest.")
@click.option("--ref", required=True, help="The bank statement's reference.")
@_fund_option()
@_actor_option
@click.pass_obj
def capital_interest(obj, bank_code, amount, on, ref, fund_code, actor):
    """Record deposit interest BANK credited to the fund's special account."""
    row = _write(
        obj,
        lambda s: capital.record_deposit_interest(
            s, bank_code, amount, on, ref, actor=_actor(actor), fund=fund_code
        ),
    )
    parts = ", ".join(f"{k} {format_yuan(v)}" for k, v in sorted(row.allocation.items()))
    click.echo(
        f"interest {format_yuan(row.amount)} yuan at {bank_code} on {row.credited_on} "
        f"(ref {row.bank_ref}, entry {row.entry_id}): {parts}"
    )


@capital_group.command("fee")
@click.argument("amount", metavar="YUAN", callback=_fen)
@_on_option("Date the fee was received.")
@click.option("--ref", required=True, help="The payment's document or bank reference.")
@click.option(
    "--from", "period_from", required=True, callback=_date, help="The period's first day."
)
@click.option("--to", "period_to", required=True, callback=_date, help="The period's last day.")
@click.option(
    "--bank", "bank_code", help="Paid into this bank's special account (default: treasury)."
)
@click.option("--note", default="")
@_fund_option("The fund it is income of (default: the city-level fund, CITY).")
@_actor_option
@click.pass_obj
def capital_fee(obj, amount, on, ref, period_from, period_to, bank_code, note, fund_code, actor):
    """Record a guarantee fee (担保费) received for a period: income of the fund."""
    row = _write(
        obj,
        lambda s: fees.record_guarantee_fee(
            s, amount, on, ref, period_from=period_from, period_to=period_to,
            bank=bank_code, note=note, actor=_actor(actor), fund=fund_code,
        ),
    )  # fmt: skip
    parts = ", ".join(f"{k} {format_yuan(v)}" for k, v in sorted(row.allocation.items()))
    into = f"at {row.bank_code}" if row.bank_code else "in the treasury"
    into += _of_fund(row.fund_code)
    click.echo(
        f"guarantee fee {format_yuan(row.amount)} yuan {into} on {row.received_on} for "
        f"{row.period_from} to {row.period_to} (ref {row.reference}, entry {row.entry_id}): "
        f"{parts}"
    )


@capital_group.command("show")
@click.option("--as-of", callback=_date, help="Effective date (default: today).")
@_fund_filter
@click.pass_obj
def capital_show(obj, as_of, fund_code):
    """Capital by source: contributed, income, losses, net, committed and unpaid; of one
    fund or of every fund."""
    as_of = as_of or _today()
    sources = _read(
        obj,
        lambda s: queries.capital_by_source(s, as_of, funds.check_fund(s, fund_code)),
    )
    of = f" of fund {fund_code}" if fund_code else ""
    click.echo(f"capital by source{of} as of {as_of} (yuan)")
    rows = [
        [
            "source", "fund", "kind", "contributed", "income", "losses", "net", "committed",
            "unpaid", "due", "overdue",
        ]
    ]  # fmt: skip
    for x in sources:
        rows.append(
            [
                x.code,
                x.fund,
                x.kind,
                format_yuan(x.contributed),
                format_yuan(x.income),
                format_yuan(x.losses),
                format_yuan(x.net),
                _yuan(x.committed),
                _yuan(x.unpaid),
                str(x.due_on or "-"),
                format_yuan(x.overdue) if x.due_on else "-",
            ]
        )
    committed = [x.committed for x in sources if x.committed is not None]
    unpaid = [x.unpaid for x in sources if x.unpaid is not None]
    rows.append(
        [
            "total",
            "",
            "",
            format_yuan(sum(x.contributed for x in sources)),
            format_yuan(sum(x.income for x in sources)),
            format_yuan(sum(x.losses for x in sources)),
            format_yuan(sum(x.net for x in sources)),
            format_yuan(sum(committed)) if committed else "-",
            format_yuan(sum(unpaid)) if unpaid else "-",
            "",
            format_yuan(sum(x.overdue for x in sources)),
        ]
    )
    _echo_table(rows, right=(3, 4, 5, 6, 7, 8, 10))


@capital_group.command("matching")
@click.option("--as-of", callback=_date, help="Date (default: today).")
@click.pass_obj
def capital_matching(obj, as_of):
    """Which districts have not paid their matching money: committed, paid, unpaid and
    overdue per district (yuan), those with money overdue first."""
    as_of = as_of or _today()
    with obj.factory() as s:
        rows_ = capital.matching_by_district(s, as_of)
    click.echo(f"matching money by district as of {as_of} (yuan)")
    rows = [["district", "committed", "paid", "unpaid", "overdue", "overdue since"]]
    for r in rows_:
        rows.append(
            [
                r.district, format_yuan(r.committed), format_yuan(r.contributed),
                format_yuan(r.unpaid), format_yuan(r.overdue), str(r.overdue_since or "-"),
            ]
        )  # fmt: skip
    _echo_table(rows, right=range(1, 5))


@capital_group.command("allocations")
@click.option("--source", "source_code", help="Allocations from this capital source.")
@click.option("--status", help=_values(AllocationStatus))
@click.option("--received-from", callback=_date, help="Received on or after this date.")
@click.option("--received-to", callback=_date, help="Received on or before this date.")
@_paging_options
@_sorting_options(k.name for k in ALLOCATION_SORTS)
@click.pass_obj
def capital_allocations(obj, source_code, status, received_from, received_to, before, limit,
                        sort, after):  # fmt: skip
    """Allocations received from the capital sources, the most recently recorded first
    unless sorted."""
    page = _read(
        obj,
        lambda s: allocations_page(
            s, source=source_code, status=status, date_from=received_from,
            date_to=received_to, sort=sort, after=after, before=before, limit=limit,
        ),
    )  # fmt: skip
    _echo_page(
        page,
        ["id", "source", "yuan", "received", "reference", "status", "recorded by",
         "decided by"],
        lambda a: [
            str(a.id), a.source_code, format_yuan(a.amount), str(a.received_on),
            a.reference or "-", a.status, a.recorded_by, a.decided_by or "-",
        ],
        right=(0, 2),
    )  # fmt: skip


# --------------------------------------------------------------------------- guarantees


@click.group()
def guarantee():
    """Guarantee approvals (承诺担保)."""


@guarantee.command("approve")
@click.option("--id-number", required=True, help="The registered borrower's ID number.")
@click.option("--bank", "bank_code", required=True)
@click.option("--amount", required=True, callback=_fen, help="Yuan.")
@click.option("--term", required=True, type=click.IntRange(1, 600), help="Months.")
@_on_option("Approval date.")
@click.option(
    "--counter-guarantee",
    "collateral",
    multiple=True,
    callback=_counter_guarantees,
    metavar="KIND:VALUE_YUAN:DESCRIPTION",
    help="mortgage, pledge or joint_group (repeatable).",
)
@click.option(
    "--guarantor",
    "guarantors",
    multiple=True,
    callback=_guarantors,
    metavar="NAME:ID:EMPLOYER_TYPE",
    help="A guarantor (保证人, repeatable).",
)
@click.option("--waiver", is_flag=True, help="Credit-community waiver (信用社区免担保).")
@click.option(
    "--fund",
    "fund_code",
    help="The fund that guarantees it (default: the borrower's district's fund if it has "
    "one, else CITY).",
)
@click.option(
    "--project", "project_kind", type=click.Choice(PROJECT_KINDS),
    help="What the loan is for: micro_profit (微利项目) or other.",
)  # fmt: skip
@click.option("--trade", help="The project's trade: a code of the policy file's trade catalogue.")
@_actor_option
@click.pass_obj
def guarantee_approve(obj, id_number, bank_code, amount, term, on, collateral, guarantors,
                      waiver, fund_code, project_kind, trade, actor):  # fmt: skip
    """Approve a guarantee and print the commitment number."""
    specs = guarantors + collateral
    if waiver:
        specs += (guarantees.CounterGuaranteeSpec("credit_community"),)
    row = _write(
        obj,
        lambda s: guarantees.approve_guarantee(
            s,
            id_number=id_number,
            bank=bank_code,
            amount=amount,
            term_months=term,
            on=on,
            actor=_actor(actor),
            counter_guarantees=specs,
            fund=fund_code,
            project_kind=project_kind,
            trade=trade,
        ),
    )
    click.echo(
        f"commitment {row.number} approved: {format_yuan(row.amount)} yuan for "
        f"{row.term_months} months at {row.bank_code}{_of_fund(row.fund_code)}"
    )


@guarantee.command("project")
@click.argument("number")
@click.option(
    "--project", "project_kind", required=True, type=click.Choice(PROJECT_KINDS),
    help="micro_profit (微利项目) or other.",
)  # fmt: skip
@click.option("--trade", required=True, help="A code of the policy file's trade catalogue.")
@_actor_option
@click.pass_obj
def guarantee_project(obj, number, project_kind, trade, actor):
    """Record the project and trade of commitment NUMBER approved without them (approver)."""
    row = _write(
        obj,
        lambda s: guarantees.record_project(
            s, number, project_kind=project_kind, trade=trade, actor=_actor(actor)
        ),
    )
    click.echo(f"commitment {row.number}: {_project(row.project_kind, row.trade)}")


def _project(project_kind: str | None, trade: str | None) -> str:
    kind = f"{project_kind} ({PROJECT_KIND_NAMES_ZH[project_kind]})" if project_kind else "-"
    return f"{kind}, trade {trade or '-'} ({trade_name_zh(trade)})"


@guarantee.command("cancel")
@click.argument("number")
@click.option("--reason", required=True)
@_on_option()
@_actor_option
@click.pass_obj
def guarantee_cancel(obj, number, reason, on, actor):
    """Cancel an unused commitment NUMBER and release its counter-guarantees."""
    row = _write(
        obj,
        lambda s: guarantees.cancel_commitment(s, number, reason, on, actor=_actor(actor)),
    )
    click.echo(f"commitment {row.number} cancelled on {row.cancelled_on}: {row.cancel_reason}")


# --------------------------------------------------------------------------- loans


@click.group()
def loan():
    """Loans: disbursement, repayments, reversals, extension, a loan's state."""


def _loan_options(f):
    f = click.option("--contract", required=True, help="The bank's contract number.")(f)
    return click.option("--bank", "bank_code", required=True)(f)


@loan.command("disburse")
@_loan_options
@click.option("--guarantee", "guarantee_no", required=True, help="The commitment number.")
@click.option("--name", required=True, help="The borrower's name as on the commitment.")
@click.option("--id-number", required=True)
@click.option("--disbursed-on", required=True, callback=_date)
@click.option("--maturity-on", required=True, callback=_date)
@click.option("--principal", required=True, callback=_fen, help="Yuan.")
@click.option("--rate", required=True, callback=_ppm, help="Percent a year, e.g. 4.35.")
@click.option(
    "--method",
    required=True,
    callback=_method,
    help="bullet, interest_only, annuity, equal_principal (or the Chinese name).",
)
@_actor_option
@click.pass_obj
def loan_disburse(obj, bank_code, contract, guarantee_no, name, id_number, disbursed_on,
                  maturity_on, principal, rate, method, actor):  # fmt: skip
    """Record a loan the bank disbursed against a commitment."""

    def work(s):
        done = loans.disburse(
            s,
            bank=bank_code,
            contract_no=contract,
            guarantee_no=guarantee_no,
            borrower_name=name,
            id_number=id_number,
            disbursed_on=disbursed_on,
            maturity_on=maturity_on,
            principal=principal,
            annual_rate_ppm=rate,
            method=method,
            actor=_actor(actor),
        )
        return done.loan, done.created

    row, created = _write(obj, work)
    if not created:
        click.echo(f"loan {row.contract_no} at {row.bank_code} was already recorded")
        return
    click.echo(
        f"loan {row.contract_no} disbursed at {row.bank_code}: {format_yuan(row.principal)} yuan "
        f"at {format_percent(row.annual_rate_ppm)}, {row.disbursed_on} to {row.maturity_on}, "
        f"exposure {format_yuan(share(row.principal, row.coverage_ppm))} yuan"
    )


@loan.command("repay")
@click.option("--bank", "bank_code", required=True)
@click.option("--ref", required=True, help="The bank's transaction reference (流水号).")
@click.option("--contract", required=True)
@click.option("--paid-on", required=True, callback=_date)
@click.option("--principal", required=True, callback=_fen, help="Yuan.")
@click.option("--interest", required=True, callback=_fen, help="Yuan.")
@click.option("--penalty", default="0", callback=_fen, help="Yuan.")
@click.option("--balance-after", callback=_fen, help="The bank's principal balance after it.")
@click.option("--id-number", help="The borrower's ID number, checked against the loan.")
@_actor_option
@click.pass_obj
def loan_repay(obj, bank_code, ref, contract, paid_on, principal, interest, penalty,
               balance_after, id_number, actor):  # fmt: skip
    """Record a repayment the bank reported."""

    def work(s):
        done = loans.repay(
            s,
            bank=bank_code,
            bank_ref=ref,
            contract_no=contract,
            paid_on=paid_on,
            principal=principal,
            interest=interest,
            penalty=penalty,
            id_number=id_number,
            balance_after=balance_after,
            actor=_actor(actor),
        )
        ln = loans.get_loan(s, bank_code, contract)
        left = ln.principal - loans.repaid_principal(s, ln.id)
        return done.repayment, done.created, left, ln.status

    row, created, left, status = _write(obj, work)
    if not created:
        click.echo(f"repayment {row.bank_ref} at {bank_code} was already recorded")
        return
    click.echo(
        f"repayment {row.bank_ref} on loan {contract} {row.paid_on}: principal "
        f"{format_yuan(row.principal)}, interest {format_yuan(row.interest)}, penalty "
        f"{format_yuan(row.penalty)} yuan; principal outstanding {format_yuan(left)} yuan"
        + (" (repaid in full)" if status == "repaid" else "")
    )


@loan.command("reverse")
@click.option("--bank", "bank_code", required=True)
@click.option("--ref", required=True, help="The reversal's own bank reference.")
@click.option("--reversal-of", required=True, help="The reference of the repayment reversed.")
@_on_option()
@click.option("--contract", help="The loan's contract number, checked.")
@_actor_option
@click.pass_obj
def loan_reverse(obj, bank_code, ref, reversal_of, on, contract, actor):
    """Reverse (冲正) an earlier repayment."""
    done = _write(
        obj,
        lambda s: loans.reverse_repayment(
            s,
            bank=bank_code,
            bank_ref=ref,
            reversal_of=reversal_of,
            on=on,
            actor=_actor(actor),
            contract_no=contract,
        ),
    )
    again = "" if done.created else " (already recorded)"
    click.echo(
        f"repayment {reversal_of.strip()} reversed by {done.repayment.bank_ref} on {on}{again}"
    )


@loan.command("extend")
@_loan_options
@click.option("--to", "to", required=True, callback=_date, help="The new maturity.")
@_on_option("Date the extension was agreed.")
@_actor_option
@click.pass_obj
def loan_extend(obj, bank_code, contract, to, on, actor):
    """Extend (展期) a loan's maturity."""
    row = _write(
        obj,
        lambda s: loans.extend_loan(
            s, bank=bank_code, contract_no=contract, new_maturity=to, on=on, actor=_actor(actor)
        ),
    )
    click.echo(
        f"loan {contract} extended on {row.extended_on}: maturity {row.old_maturity} → "
        f"{row.new_maturity}"
    )


@loan.command("show")
@_loan_options
@click.option("--as-of", callback=_date, help="Date (default: today).")
@_unmasked_option
@click.pass_obj
def loan_show(obj, bank_code, contract, as_of, unmasked, actor):
    """A loan's state, position, exposure, schedule and history as of a date; names and
    ID numbers masked unless --unmasked."""
    as_of = as_of or _today()
    st = _read(
        obj, lambda s: _shown(s, loan_detail(s, bank_code, contract, as_of), unmasked, actor)
    )
    ln, pos, c = st.loan, st.position, st.commitment
    click.echo(f"loan {ln.contract_no} at {ln.bank_code} as of {as_of}: {ln.status} "
               f"({loans.STATUS_ZH[ln.status]})")  # fmt: skip
    _kv("borrower", f"{st.borrower.name} {st.borrower.id_number}")
    _kv(
        "commitment",
        f"{c.number}: {format_yuan(c.amount)} yuan, {c.term_months} months, "
        f"approved {c.approved_on}",
    )
    if c.project_kind or c.trade:
        _kv("project", _project(c.project_kind, c.trade))
    method = Method(ln.method)
    _kv(
        "principal",
        f"{format_yuan(ln.principal)} yuan at {format_percent(ln.annual_rate_ppm)} a year, "
        f"{method.value} ({METHOD_NAMES_ZH[method]})",
    )
    _kv("term", f"{ln.disbursed_on} to {ln.maturity_on}")
    for e in st.extensions:
        _kv("extended", f"on {e.extended_on}: {e.old_maturity} → {e.new_maturity}")
    _kv("coverage", format_percent(ln.coverage_ppm))
    _kv("fund", ln.fund)
    _kv("outstanding", f"{format_yuan(pos.principal_outstanding)} yuan")
    _kv(
        "paid",
        f"principal {format_yuan(pos.principal_paid)}, interest "
        f"{format_yuan(pos.interest_paid)} yuan",
    )
    _kv(
        "due to date",
        f"principal {format_yuan(pos.principal_due)}, interest "
        f"{format_yuan(pos.interest_due)} yuan",
    )
    _kv(
        "overdue",
        f"{pos.days_overdue} days ({pos.bucket}): principal "
        f"{format_yuan(pos.overdue_principal)}, interest {format_yuan(pos.overdue_interest)} yuan",
    )
    _kv("first unpaid due", str(pos.first_unpaid_due_on or "-"))
    _kv("exposure", f"{format_yuan(st.exposure)} yuan")
    _kv("receivable", f"{format_yuan(st.receivable)} yuan")
    click.echo("schedule:")
    rows = [["#", "due on", "principal", "interest"]]
    rows += [
        [str(i.number), str(i.due_on), format_yuan(i.principal), format_yuan(i.interest)]
        for i in st.schedule
    ]
    rows.append(
        [
            "",
            "total",
            format_yuan(sum(i.principal for i in st.schedule)),
            format_yuan(sum(i.interest for i in st.schedule)),
        ]
    )
    for line in _table(rows, right=(0, 2, 3)):
        click.echo(f"  {line}")
    click.echo("repayments:" + ("" if st.repayments else " none"))
    rows = [["ref", "paid on", "principal", "interest", "penalty", ""]]
    for r in st.repayments:
        note = ""
        if r.reversal_of_id:
            note = f"reverses {r.reverses or r.reversal_of_id}"
        elif r.reversed_by:
            note = f"reversed by {r.reversed_by}"
        rows.append(
            [r.bank_ref, str(r.paid_on), format_yuan(r.principal), format_yuan(r.interest),
             format_yuan(r.penalty), note]
        )  # fmt: skip
    if st.repayments:
        for line in _table(rows, right=(2, 3, 4)):
            click.echo(f"  {line}")
    click.echo("claims:" + ("" if st.claims else " none"))
    for cl in st.claims:
        paid = f", paid {cl.paid_on}" if cl.paid_on else ""
        click.echo(
            f"  {cl.number} {cl.status}: filed {cl.filed_on}, {cl.days_overdue} days overdue, "
            f"loss {format_yuan(cl.loss)}, amount {format_yuan(cl.amount)} yuan{paid}"
        )
    click.echo("recoveries:" + ("" if st.recoveries else " none"))
    for rc in st.recoveries:
        click.echo(
            f"  {rc.recovered_on} {format_yuan(rc.total)} yuan from {rc.source}: fund "
            f"{format_yuan(rc.fund_share)}, bank {format_yuan(rc.bank_share)}"
            + (f" ({rc.reference})" if rc.reference else "")
        )
    click.echo("counter-guarantees:" + ("" if st.counter_guarantees else " none"))
    for cg in st.counter_guarantees:
        click.echo(f"  {_counter_guarantee_line(cg)}")
    # What each entry posted to this loan's own exposure and receivable accounts.
    click.echo("entries:" + ("" if st.entries else " none"))
    if st.entries:
        rows = [["id", "date", "kind", "amount"]]
        rows += [
            [str(e.id), str(e.effective_date), e.kind, format_yuan(st.moved(e))] for e in st.entries
        ]
        for line in _table(rows, right=(0, 3)):
            click.echo(f"  {line}")


def _counter_guarantee_line(cg: CounterGuaranteeView) -> str:
    who = cg.guarantor_name
    if cg.guarantor_id_number:
        who += f" {cg.guarantor_id_number}"
    if cg.employer_type:
        who += f" ({cg.employer_type})"
    what = ", ".join(x for x in (who.strip(), cg.description) if x)
    closed = f" {cg.closed_on}" if cg.closed_on else ""
    return f"{cg.id} {cg.kind} {format_yuan(cg.value)} yuan {cg.status}{closed}" + (
        f": {what}" if what else ""
    )


@loan.command("list")
@click.option("--bank", "bank_code", help="Loans of this bank.")
@click.option("--district", "district_code", help="Loans to borrowers of this district.")
@click.option("--status", help=_values(LoanStatus))
@click.option("--disbursed-from", callback=_date, help="Disbursed on or after this date.")
@click.option("--disbursed-to", callback=_date, help="Disbursed on or before this date.")
@click.option("--fund", "fund_code", help="Loans drawing on this fund.")
@_paging_options
@_sorting_options(k.name for k in LOAN_SORTS)
@_unmasked_option
@click.pass_obj
def loan_list(obj, bank_code, district_code, status, disbursed_from, disbursed_to, fund_code,
              before, limit, sort, after, unmasked, actor):  # fmt: skip
    """Loans, the most recently recorded first unless sorted; principal and outstanding in
    yuan; borrowers' names and ID numbers masked unless --unmasked."""
    page = _read(
        obj,
        lambda s: _shown_page(
            s,
            loans_page(
                s, bank=bank_code, district=district_code, status=status,
                disbursed_from=disbursed_from, disbursed_to=disbursed_to,
                fund=funds.check_fund(s, fund_code), sort=sort, after=after, before=before,
                limit=limit,
            ),
            unmasked,
            actor,
        ),
    )  # fmt: skip
    _echo_page(
        page,
        ["id", "bank", "contract", "borrower", "ID number", "district", "principal",
         "outstanding", "rate", "disbursed", "maturity", "status"],
        lambda ln: [
            str(ln.id), ln.bank_code, ln.contract_no, ln.borrower_name, ln.borrower_id_number,
            ln.district, format_yuan(ln.principal), format_yuan(ln.principal_outstanding),
            format_percent(ln.annual_rate_ppm), str(ln.disbursed_on), str(ln.maturity),
            ln.status,
        ],
        right=(0, 6, 7, 8),
    )  # fmt: skip


# --------------------------------------------------------------------------- claims


@click.group()
def claim():
    """Compensation claims (代偿)."""


@claim.command("file")
@_loan_options
@_on_option("Filing date.")
@_actor_option
@click.pass_obj
def claim_file(obj, bank_code, contract, on, actor):
    """File a claim on an overdue loan."""
    row = _write(
        obj,
        lambda s: claims.file_claim(s, bank=bank_code, contract_no=contract, on=on,
                                    actor=_actor(actor)),
    )  # fmt: skip
    click.echo(
        f"claim {row.number} filed on loan {contract}: {row.days_overdue} days overdue, loss "
        f"{format_yuan(row.loss)} yuan, claim {format_yuan(row.amount)} yuan "
        f"({format_percent(row.coverage_ppm)})"
    )


@claim.command("approve")
@click.argument("number")
@_on_option()
@_actor_option
@click.pass_obj
def claim_approve(obj, number, on, actor):
    """Approve claim NUMBER (an approver other than the filer)."""
    row = _write(obj, lambda s: claims.approve_claim(s, number, on=on, actor=_actor(actor)))
    click.echo(f"claim {row.number} approved on {on}: {format_yuan(row.amount)} yuan payable")


@claim.command("reject")
@click.argument("number")
@click.option("--reason", required=True)
@_on_option()
@_actor_option
@click.pass_obj
def claim_reject(obj, number, reason, on, actor):
    """Reject claim NUMBER."""
    row = _write(obj, lambda s: claims.reject_claim(s, number, reason, on=on, actor=_actor(actor)))
    click.echo(f"claim {row.number} rejected on {on}: {row.reject_reason}")


@claim.command("pay")
@click.argument("number")
@_on_option()
@_actor_option
@click.pass_obj
def claim_pay(obj, number, on, actor):
    """Pay approved claim NUMBER from the bank's special account."""
    row = _write(obj, lambda s: claims.pay_claim(s, number, on=on, actor=_actor(actor)))
    click.echo(f"claim {row.number} paid on {row.paid_on}: {format_yuan(row.amount)} yuan")


@claim.command("list")
@click.option("--bank", "bank_code", help="Claims on loans of this bank.")
@click.option("--status", help=_values(ClaimStatus))
@click.option("--filed-from", callback=_date, help="Filed on or after this date.")
@click.option("--filed-to", callback=_date, help="Filed on or before this date.")
@click.option("--fund", "fund_code", help="Claims on loans drawing on this fund.")
@_paging_options
@_sorting_options(k.name for k in CLAIM_SORTS)
@_unmasked_option
@click.pass_obj
def claim_list(obj, bank_code, status, filed_from, filed_to, fund_code, before, limit, sort,
               after, unmasked, actor):  # fmt: skip
    """Claims, the most recently filed first unless sorted; amounts in yuan; borrowers'
    names masked unless --unmasked."""
    page = _read(
        obj,
        lambda s: _shown_page(
            s,
            claims_page(
                s, bank=bank_code, status=status, filed_from=filed_from, filed_to=filed_to,
                fund=funds.check_fund(s, fund_code), sort=sort, after=after, before=before,
                limit=limit,
            ),
            unmasked,
            actor,
        ),
    )  # fmt: skip
    _echo_page(
        page,
        ["id", "number", "bank", "contract", "borrower", "filed", "days", "loss", "amount",
         "status", "filed by", "decided by", "paid"],
        lambda c: [
            str(c.id), c.number, c.bank_code, c.contract_no, c.borrower_name, str(c.filed_on),
            str(c.days_overdue), format_yuan(c.loss), format_yuan(c.amount), c.status,
            c.filed_by, c.decided_by or "-", str(c.paid_on or "-"),
        ],
        right=(0, 6, 7, 8),
    )  # fmt: skip


# --------------------------------------------------------------------------- after compensation


@click.group()
def recovery():
    """Recoveries (追偿) on compensated loans."""


def _recovery_line(row) -> str:
    return (
        f"recovery {row.id} on {row.recovered_on}: {format_yuan(row.total)} yuan, fund share "
        f"{format_yuan(row.fund_share)}, bank share {format_yuan(row.bank_share)}"
    )


@recovery.command("record")
@_loan_options
@click.option("--amount", required=True, callback=_fen, help="Yuan recovered in all.")
@_on_option()
@click.option("--reference", "ref", default="")
@_actor_option
@click.pass_obj
def recovery_record(obj, bank_code, contract, amount, on, ref, actor):
    """Record money recovered on a compensated loan."""
    row = _write(
        obj,
        lambda s: recoveries.record_recovery(
            s, bank=bank_code, contract_no=contract, amount=amount, on=on, actor=_actor(actor),
            reference=ref,
        ),
    )  # fmt: skip
    click.echo(_recovery_line(row))


@click.group("counter-guarantee")
def counter_guarantee():
    """Counter-guarantees (反担保)."""


@counter_guarantee.command("enforce")
@click.argument("cg_id", metavar="ID", type=int)
@click.option("--proceeds", required=True, callback=_fen, help="Yuan realised (may be 0).")
@_on_option()
@_actor_option
@click.pass_obj
def counter_guarantee_enforce(obj, cg_id, proceeds, on, actor):
    """Enforce counter-guarantee ID of a compensated loan; its proceeds are a recovery."""
    row = _write(
        obj,
        lambda s: recoveries.enforce_counter_guarantee(
            s, cg_id, proceeds=proceeds, on=on, actor=_actor(actor)
        ),
    )
    click.echo(f"counter-guarantee {cg_id} enforced on {on}")
    if row is not None:
        click.echo(_recovery_line(row))


@click.group("write-off")
def write_off():
    """Write-offs (核销) of compensation receivables."""


@write_off.command("request")
@_loan_options
@click.option("--reason", required=True)
@_on_option()
@_actor_option
@click.pass_obj
def write_off_request(obj, bank_code, contract, reason, on, actor):
    """Propose writing off what is left of a loan's receivable (clerk)."""
    row = _write(
        obj,
        lambda s: recoveries.request_write_off(
            s, bank=bank_code, contract_no=contract, reason=reason, on=on, actor=_actor(actor)
        ),
    )
    click.echo(f"write-off {row.id} requested on loan {contract}: {format_yuan(row.amount)} yuan")


@write_off.command("approve")
@click.argument("write_off_id", metavar="ID", type=int)
@_on_option()
@_actor_option
@click.pass_obj
def write_off_approve(obj, write_off_id, on, actor):
    """Approve write-off ID; the loss is attributed to the capital sources."""
    row = _write(
        obj, lambda s: recoveries.approve_write_off(s, write_off_id, on=on, actor=_actor(actor))
    )
    parts = ", ".join(f"{k} {format_yuan(v)}" for k, v in sorted(row.allocation.items()))
    click.echo(
        f"write-off {row.id} approved on {on}: {format_yuan(row.amount)} yuan ({row.rule}: {parts})"
    )


@write_off.command("reject")
@click.argument("write_off_id", metavar="ID", type=int)
@click.option("--reason", required=True)
@_on_option()
@_actor_option
@click.pass_obj
def write_off_reject(obj, write_off_id, reason, on, actor):
    """Reject write-off ID."""
    row = _write(
        obj,
        lambda s: recoveries.reject_write_off(s, write_off_id, reason, on=on, actor=_actor(actor)),
    )
    click.echo(f"write-off {row.id} rejected on {on}")


# --------------------------------------------------------------------------- reports


@click.group()
def report():
    """Reports: fund statement, trial balance, balance sheet, ledger detail, banks'
    positions and capacity, interest subsidy, guarantee fees."""


reports.attach(report)


@report.command("banks")
@click.option("--as-of", callback=_date, help="Date (default: today).")
@_fund_filter
@click.pass_obj
def report_banks(obj, as_of, fund_code):
    """Per bank and fund: placed, exposure and loans outstanding, leverage used on both
    bases, the cap on the rules' basis and what remains of it, the lending floor's
    shortfall, the compensation rate and last year's repayment rate at maturity (yuan);
    of one fund, or of every fund with the city's total."""
    as_of = as_of or _today()
    last_year = dt.date(as_of.year - 1, 1, 1), dt.date(as_of.year - 1, 12, 31)
    with obj.factory() as s:
        fund = funds.check_fund(s, fund_code)
        rows = [
            [
                "bank", "placed", "exposure", "outstanding", "used (exp.)", "used (princ.)",
                "cap", "remaining", "floor short", "compensation", f"repaid {as_of.year - 1}",
            ]
        ]  # fmt: skip
        # The caps as the disbursement check computes them (leverage.capacity_as_of).
        caps = placements_as_of(s, as_of, fund)
        for cap in caps:
            rows.append(
                [
                    cap.label, format_yuan(cap.special), format_yuan(cap.exposure),
                    format_yuan(cap.outstanding), format_times(cap.exposure_used_ppm),
                    format_times(cap.principal_used_ppm),
                    f"{format_yuan(cap.cap)} ({cap.multiplier}x {cap.basis})",
                    format_yuan(cap.remaining), format_yuan(cap.lending_shortfall),
                    format_percent(compensation_rate_ppm(s, cap.bank, as_of, cap.fund)),
                    format_percent(cap.repayment_rate_ppm),
                ]
            )  # fmt: skip
        total = {
            name: sum(getattr(c, name) for c in caps)
            for name in ("special", "exposure", "outstanding", "cap", "remaining")
        }
        short = sum(c.lending_shortfall for c in caps)
        placed = total["special"]
        rows.append(
            [
                "total", format_yuan(placed), format_yuan(total["exposure"]),
                format_yuan(total["outstanding"]),
                format_times(total["exposure"] * PPM // placed if placed > 0 else None),
                format_times(total["outstanding"] * PPM // placed if placed > 0 else None),
                format_yuan(total["cap"]), format_yuan(total["remaining"]), format_yuan(short),
                format_percent(compensation_rate_ppm(s, None, as_of, fund)),
                format_percent(repayment_rate_ppm(s, None, *last_year, fund)),
            ]
        )  # fmt: skip
    of = f"fund {fund}" if fund else "every fund"
    click.echo(f"banks as of {as_of}, {of} (yuan)")
    _echo_table(rows, right=range(1, 11))


@report.command("subsidy")
@click.option("--bank", "bank_code", required=True)
@click.option("--year", required=True, type=click.IntRange(1990, 2200))
@click.option("--quarter", required=True, type=click.IntRange(1, 4))
@click.pass_obj
def report_subsidy(obj, bank_code, year, quarter):
    """A bank's interest-subsidy claim for a quarter: one line per loan, and the total."""
    with obj.factory() as s:
        reference.get_bank(s, bank_code)
        result = subsidy.subsidy_claim(queries.subsidy_claim(s, bank_code, year, quarter))
    click.echo(f"interest subsidy {bank_code} {year}Q{quarter}: {result['loans']} loans (yuan)")
    lines = result["lines"]
    # Who pays, and why a loan earns nothing: shown where the loans' rules say so.
    split = any(x["central"] is not None for x in lines)
    withheld = any(x["withheld"] is not None for x in lines)
    header = ["contract", "days", "subsidised", "overdue", "extended", "interest", "subsidy"]
    header += ["central", "local"] if split else []
    rows = [header + (["withheld"] if withheld else [])]
    for line in lines:
        row = [
            line["loan"],
            str(line["days_in_quarter"]),
            str(line["days_subsidised"]),
            str(line["days_overdue"]),
            str(line["days_extended"]),
            format_yuan(line["interest_base"]),
            format_yuan(line["subsidy"]),
        ]
        row += [_yuan(line["central"]), _yuan(line["local"])] if split else []
        if withheld:
            reason = line["withheld"]
            row.append(f"{reason} ({subsidy.WITHHELD_ZH[reason]})" if reason else "")
        rows.append(row)
    total = [
        "total", "", "", "", "",
        format_yuan(sum(x["interest_base"] for x in lines)),
        format_yuan(result["subsidy"]),
    ]  # fmt: skip
    if split:
        total += [format_yuan(sum(x[k] or 0 for x in lines)) for k in ("central", "local")]
    rows.append(total + ([""] if withheld else []))
    _echo_table(rows, right=range(1, len(header)))


@report.command("fees")
@click.option(
    "--from", "period_from", required=True, callback=_date, help="The period's first day."
)
@click.option("--to", "period_to", required=True, callback=_date, help="The period's last day.")
@click.option("--bank", "bank_code", help="Loans of this bank only.")
@click.pass_obj
def report_fees(obj, period_from, period_to, bank_code):
    """The guarantee fee (担保费) each loan earned over a period, at its rules' rate."""
    with obj.factory() as s:
        if bank_code is not None:
            reference.get_bank(s, bank_code)
        due = fees.fees_due(s, period_from, period_to, bank=bank_code)
    click.echo(f"guarantee fees {period_from} to {period_to}: {len(due)} loans (yuan)")
    rows = [["bank", "contract", "rate", "days", "fee"]]
    rows += [
        [x.bank, x.contract_no, format_percent(x.rate_ppm), str(x.days), format_yuan(x.fee)]
        for x in due
    ]
    rows.append(["total", "", "", "", format_yuan(sum(x.fee for x in due))])
    _echo_table(rows, right=(2, 3, 4))


# --------------------------------------------------------------------------- registration

GROUPS = (
    district,
    fund_group,
    bank,
    source,
    user,
    borrower,
    policy_group,
    capital_group,
    guarantee,
    loan,
    claim,
    recovery,
    counter_guarantee,
    write_off,
    report,
)


def register(cli: click.Group) -> None:
    """Add the fund's command groups to the ``fundledger`` command."""
    for group in GROUPS:
        cli.add_command(group)


__all__ = ["percent_to_ppm", "register"]
