"""user_account.away_since: when a SPOC was marked away

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-27 03:00:00

Coming back, a SPOC gets back the touches routed to their backup while they were away and not yet
scheduled (SPEC §3.5: an absent SPOC's queue goes to the backup, for the absence). SPOCs marked away
before this revision have no date (NULL): their touches stay where they are.
"""
from __future__ import annotations

import advanced_alchemy.types.datetime
import sqlalchemy as sa
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('away_since', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True),
                                      nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_column('away_since')
