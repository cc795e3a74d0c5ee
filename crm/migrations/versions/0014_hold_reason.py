"""touch_request.hold_reason: why a request is held when its employer's budget is not the reason

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-26 16:00:00

A request whose touch the SPOC cancelled is held until the next touch; its partner read "the employer's
contact budget is used up" instead of the SPOC's reason. Requests held before this revision keep no
reason (NULL) and read as before.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('touch_request', schema=None) as batch_op:
        batch_op.add_column(sa.Column('hold_reason', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('touch_request', schema=None) as batch_op:
        batch_op.drop_column('hold_reason')
