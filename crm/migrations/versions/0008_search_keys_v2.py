"""employer search keys v2: add the word-initial keys ("o:g plumbing") for typo recall

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 14:20:00

No schema change: the rows of ``employer_search_key`` are rebuilt with the current key scheme
(``crm.employers.candidates.rebuild_keys``, the very function ``crm employers reindex`` runs), in
this migration's transaction. It reads every live employer once: about a minute per 100,000
employers. Downgrade removes the ``o:`` keys, which leaves exactly the version-1 keys (the
matcher's blocking keys, unchanged by this revision).
"""
from __future__ import annotations

from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    from crm.employers.candidates import rebuild_keys

    rebuild_keys(op.get_bind())


def downgrade() -> None:
    # 'o;' is the string right after every 'o:...' key (';' follows ':'), so the range uses the index.
    # The upgrade wrote the scheme of the code running it, so the word keys of 0020 go as well.
    for kind in "ow":
        op.execute(f"DELETE FROM employer_search_key WHERE key >= '{kind}:' AND key < '{kind};'")
