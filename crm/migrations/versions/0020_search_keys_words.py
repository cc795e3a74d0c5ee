"""employer search keys v3: add a key per name word ("w:robinson") for the directory's search by words

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-27 11:10:00

No schema change: the rows of ``employer_search_key`` are rebuilt with the current key scheme
(``crm.employers.candidates.rebuild_keys``, what ``crm employers reindex`` runs), in this migration's
transaction, as 0008 did: about a minute per 100,000 employers. Until it has run, the directory finds
employers by the start of their names only. Downgrade removes the ``w:`` keys, which leaves exactly the
version-2 keys.
"""
from __future__ import annotations

from alembic import op

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    from crm.employers.candidates import rebuild_keys

    rebuild_keys(op.get_bind())


def downgrade() -> None:
    # 'w;' is the string right after every 'w:...' key (';' follows ':'), so the range uses the index.
    op.execute("DELETE FROM employer_search_key WHERE key >= 'w:' AND key < 'w;'")
