"""An import task keeps the rows its upload counted; an idempotency key keeps the
``Location`` of its response.

``import_tasks.rows_expected``: the data rows the web application counted when it
queued the file (``web.uploads.data_rows``: a CSV's lines after its header, an XLSX
workbook's estimated from its size), the total an API client shows progress against
until the worker has read the file. NULL for a task queued without a count.

``idempotency_keys.location``: the ``Location`` header of the first response, given back
with it when the request is sent again — where a created receipt or a queued import's
task is.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-20
"""

from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable columns without a default: a plain ALTER TABLE on both engines, no rebuild.
    op.execute("ALTER TABLE import_tasks ADD COLUMN rows_expected INTEGER")
    op.execute("ALTER TABLE idempotency_keys ADD COLUMN location TEXT")


def downgrade() -> None:
    op.execute("ALTER TABLE idempotency_keys DROP COLUMN location")
    op.execute("ALTER TABLE import_tasks DROP COLUMN rows_expected")
