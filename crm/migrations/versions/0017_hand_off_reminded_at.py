"""hand_off.reminded_at: when an unanswered hand-off's partner was reminded of it

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-27 06:00:00

A hand-off pending for a week is brought back to its partner once by the daily reminder job
(crm.touches.reminders); hand-offs made before this revision have not been reminded (NULL).
"""
from __future__ import annotations

import advanced_alchemy.types.datetime
import sqlalchemy as sa
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('hand_off', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reminded_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True),
                                      nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('hand_off', schema=None) as batch_op:
        batch_op.drop_column('reminded_at')
