"""hand_off.previous_id and settled_at: a declined hand-off's need passed on to another partner

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-27 02:45:00

A partner that declines a hand-off says why, "so the SPOC can find someone else"; the SPOC could not.
A declined hand-off is now settled by the SPOC, who passes its need on (the new hand-off names the
declined one) or lets it go. Hand-offs declined before this revision are unsettled (NULL).
"""
from __future__ import annotations

import advanced_alchemy.types.datetime
import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('hand_off', schema=None) as batch_op:
        batch_op.add_column(sa.Column('previous_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True))
        batch_op.add_column(sa.Column('settled_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_hand_off_previous_id'), ['previous_id'], unique=False)
        batch_op.create_index('ix_hand_off_from_user_status', ['from_user_id', 'status'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_hand_off_previous_id_hand_off'), 'hand_off', ['previous_id'],
                                    ['id'], ondelete='SET NULL')


def downgrade() -> None:
    with op.batch_alter_table('hand_off', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_hand_off_previous_id_hand_off'), type_='foreignkey')
        batch_op.drop_index('ix_hand_off_from_user_status')
        batch_op.drop_index(batch_op.f('ix_hand_off_previous_id'))
        batch_op.drop_column('settled_at')
        batch_op.drop_column('previous_id')
