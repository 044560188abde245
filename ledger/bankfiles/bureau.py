"""The bureau's own lists, taken in as a bank's files are: their rows become the fund's batches.

A **borrowers** list (借款人名单) is registered by
:func:`~ledger.fund.borrowers.register_borrowers`, and the re-employment certificates it
names by :func:`~ledger.fund.credentials.register_credentials`, in the same transaction;
a **guarantees** list (承诺担保名单) is approved by
:func:`~ledger.fund.approvals.approve_guarantees`, which numbers the commitments in the
list's order. The operations check every row (eligibility, limits, repeat loans,
suspension, counter-guarantees, one certificate per person); this module only turns cells
into their arguments, names a district or a bank by its code, and checks what belongs to
the list itself (a certificate's cells go together, a name matches the ID number).

Each function takes the running import (``ledger.bankfiles.imports._Import``): its rows,
its way of posting a batch and of recording a row's problem.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

from sqlalchemy import select

from ledger.fund.approvals import GuaranteeRequest, approve_guarantees
from ledger.fund.borrowers import BorrowerSpec, register_borrowers
from ledger.fund.credentials import CredentialSpec, register_credentials
from ledger.fund.errors import CounterGuaranteeError, CredentialError, ReferenceDataError
from ledger.fund.funds import funds
from ledger.fund.guarantees import CounterGuaranteeSpec
from ledger.fund.models import Bank, Borrower, CounterGuarantee, District
from ledger.rows import chunks

if TYPE_CHECKING:
    from ledger.bankfiles.imports import _Import

#: Rows handed to an operation at a time.
CHUNK_LINES = 50_000

#: The operations' names for a refused line's column, where the list's column differs.
BORROWER_COLUMNS = {"name": "borrower_name"}
CREDENTIAL_COLUMNS = {"number": "certificate_no", "kind": "certificate_no"}
GUARANTEE_COLUMNS = {"on": "approved_on", "counter_guarantees": "counter_guarantee"}


class Batch(NamedTuple):
    """What a batch posted, as the import counts it."""

    posted: int
    skipped: int = 0
    entry_ids: tuple[int, ...] = ()


# ------------------------------------------------------------------------ borrowers


def post_borrowers(run: _Import) -> None:
    """Register the list's borrowers, then the certificates of those registered."""
    session, actor, today = run.session, run.head.actor, run.today
    district = _codes(session, District)

    def register(specs):
        return Batch(len(register_borrowers(session, specs, actor=actor, today=today)))

    def certify(specs):
        register_credentials(session, specs, actor=actor, today=today)
        return Batch(0)

    for chunk in chunks(run.records(), CHUNK_LINES):
        specs, certificates = [], []
        for number, r in chunk:
            specs.append(
                BorrowerSpec(
                    id_number=r["id_number"],
                    name=r["borrower_name"],
                    district=district(r["district"]),
                    borrower_type=r["borrower_type"] or "individual",
                    categories=r["categories"] or (),
                    head_count=1 if r["head_count"] is None else r["head_count"],
                    row=number,
                )
            )
            certificate = _certificate(run, number, r)
            if certificate is not None:
                certificates.append(certificate)
        run.apply(register, specs, BORROWER_COLUMNS)
        # A refused borrower's certificate has no holder to be checked against.
        certificates = [c for c in certificates if c.row not in run.problems.rows]
        run.apply(certify, certificates, CREDENTIAL_COLUMNS)


def _certificate(run: _Import, number: int, r: dict) -> CredentialSpec | None:
    """The row's certificate, or None: its number, office and date come together."""
    if r["certificate_no"] is None:
        if r["issued_by"] is not None or r["issued_on"] is not None:
            run.problem(
                number, "certificate_no",
                CredentialError(
                    "a certificate's issuing office or issue date is given without its number",
                    zh="填写了发证机关或发证日期，但再就业优惠证号为空",
                ),
            )  # fmt: skip
        return None
    if r["issued_on"] is None:
        run.problem(
            number, "issued_on",
            CredentialError(
                f"certificate {r['certificate_no']} needs its issue date",
                zh=f"再就业优惠证 {r['certificate_no']} 须填写发证日期",
            ),
        )  # fmt: skip
        return None
    return CredentialSpec(
        id_number=r["id_number"],
        number=r["certificate_no"],
        issued_by=r["issued_by"] or "",
        issued_on=r["issued_on"],
        row=number,
    )


# ------------------------------------------------------------------------ guarantees


def post_guarantees(run: _Import) -> None:
    """Approve the list's guarantees, numbered in its order."""
    session, actor, today = run.session, run.head.actor, run.today
    bank = _codes(session, Bank)
    fund = _fund_codes(session)

    def approve(requests):
        approved = approve_guarantees(session, requests, actor=actor, today=today)
        return Batch(len(approved), entry_ids=_entries(session, [a.id for a in approved]))

    for chunk in chunks(run.records(), CHUNK_LINES):
        registered = _names(session, {r["id_number"] for _, r in chunk})
        requests = []
        for number, r in chunk:
            if not _name_matches(run, number, r, registered):
                continue
            counter_guarantees = _counter_guarantees(run, number, r)
            if counter_guarantees is None:
                continue
            requests.append(
                GuaranteeRequest(
                    id_number=r["id_number"],
                    bank=bank(r["bank"]),
                    amount=r["amount"],
                    term_months=r["term_months"],
                    on=r["approved_on"],
                    counter_guarantees=counter_guarantees,
                    row=number,
                    fund=fund(r["fund"]) if r["fund"] else None,
                )
            )
        run.apply(approve, requests, GUARANTEE_COLUMNS)


def _name_matches(run: _Import, number: int, r: dict, registered: dict[str, str]) -> bool:
    """A name given must be the registered borrower's: a wrong ID number that happens to
    be someone's is caught here. (An unregistered one the approval refuses.)"""
    given, name = r["borrower_name"], registered.get(r["id_number"])
    if given is None or name is None or given == name:
        return True
    run.problem(
        number, "borrower_name",
        ReferenceDataError(
            f"the borrower registered with ID number {r['id_number']} is {name}, not {given}",
            zh=f"身份证号 {r['id_number']} 登记的借款人是{name}，不是{given}",
        ),
    )  # fmt: skip
    return False


_COUNTER_GUARANTEE_CELLS = (
    "counter_guarantee_value",
    "guarantor_name",
    "guarantor_id_number",
    "guarantor_employer_type",
    "counter_guarantee_description",
)


def _counter_guarantees(run: _Import, number: int, r: dict) -> tuple | None:
    """The row's counter-guarantee (one at most), ``()`` for none, or None if its cells
    do not go together."""
    kind = r["counter_guarantee"]
    if kind is None:
        if any(r[c] is not None for c in _COUNTER_GUARANTEE_CELLS):
            run.problem(
                number, "counter_guarantee",
                CounterGuaranteeError(
                    "a counter-guarantee's details are given but not its kind",
                    zh="填写了反担保的内容，但未填写反担保方式",
                ),
            )  # fmt: skip
            return None
        return ()
    return (
        CounterGuaranteeSpec(
            kind,
            r["counter_guarantee_value"] or 0,
            guarantor_name=r["guarantor_name"] or "",
            guarantor_id_number=r["guarantor_id_number"],
            employer_type=r["guarantor_employer_type"],
            description=r["counter_guarantee_description"] or "",
        ),
    )


# ------------------------------------------------------------------------ look-ups


def _codes(session, model) -> Callable[[str], str]:
    """What a list calls a district or a bank → its code: the code, in any case, or the
    name (a name two of them share stands for neither). Anything else is left as given,
    for the operation to refuse by name."""
    rows = session.execute(select(model.code, model.name)).all()
    names = Counter(name.strip() for _, name in rows)
    known = {name.strip(): code for code, name in rows if names[name.strip()] == 1}
    known |= {code.casefold(): code for code, _ in rows}
    known |= {code: code for code, _ in rows}
    return lambda text: known.get(text) or known.get(text.casefold(), text)


def _fund_codes(session) -> Callable[[str], str]:
    """What a list calls a fund → its code: ``CITY`` or a district fund's code (in any
    case) or its name; anything else is left as given, for the approval to refuse."""
    known = {}
    for f in funds(session):
        known |= {f.name: f.code, f.code.casefold(): f.code}
    return lambda text: known.get(text.strip()) or known.get(text.strip().casefold(), text)


def _names(session, id_numbers: set[str]) -> dict[str, str]:
    found = {}
    for chunk in chunks(sorted(id_numbers)):
        found.update(
            session.execute(
                select(Borrower.id_number, Borrower.name).where(Borrower.id_number.in_(chunk))
            )
            .tuples()
            .all()
        )
    return found


def _entries(session, commitment_ids: list[int]) -> tuple[int, ...]:
    """The memorandum entries that registered the approved commitments' counter-guarantees."""
    found: set[int] = set()
    for chunk in chunks(commitment_ids):
        found.update(
            session.scalars(
                select(CounterGuarantee.entry_id).where(
                    CounterGuarantee.commitment_id.in_(chunk),
                    CounterGuarantee.entry_id.is_not(None),
                )
            )
        )
    return tuple(sorted(found))
