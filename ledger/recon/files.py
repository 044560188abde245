"""Which bank files have been reconciled: each reconciliation of a balances or statement
file records it (:func:`mark_reconciled`), and :func:`unreconciled` lists the accepted
files that have not been, oldest first — what the reconcile job takes."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.bankfiles.models import BankFileImport
from ledger.clock import utcnow
from ledger.recon.models import ReconciledFile

#: The kinds of bank file a reconciliation reads.
RECONCILED_KINDS = ("balances", "statement")


def mark_reconciled(session: Session, import_id: int, findings: int, *, actor: str) -> None:
    """Record that ``import_id`` was reconciled now by ``actor``, finding ``findings``."""
    row = session.get(ReconciledFile, import_id)
    if row is None:
        row = ReconciledFile(import_id=import_id)
        session.add(row)
    row.reconciled_at = utcnow()
    row.reconciled_by = str(actor)
    row.findings = findings
    session.flush()


def unreconciled(session: Session) -> list[tuple[int, str]]:
    """(import id, kind) of the accepted balances and statement files never reconciled,
    in the order they were received."""
    done = select(ReconciledFile.import_id)
    return [
        (r[0], r[1])
        for r in session.execute(
            select(BankFileImport.id, BankFileImport.kind)
            .where(
                BankFileImport.kind.in_(RECONCILED_KINDS),
                BankFileImport.status == "accepted",
                BankFileImport.id.not_in(done),
            )
            .order_by(BankFileImport.id)
        )
    ]
