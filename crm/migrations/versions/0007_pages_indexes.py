"""indexes for the queue and employer pages: open touches soonest first (ix_touch_open_planned), an
employer's SPOC assignment history (ix_spoc_assignment_employer)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 14:20:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

_OPEN = sa.text("status IN ('queued','scheduled')")


def upgrade() -> None:
    with op.batch_alter_table('touch', schema=None) as batch_op:
        batch_op.create_index('ix_touch_open_planned', ['planned_on'], unique=False,
                              sqlite_where=_OPEN, postgresql_where=_OPEN)
    with op.batch_alter_table('spoc_assignment', schema=None) as batch_op:
        batch_op.create_index('ix_spoc_assignment_employer', ['employer_id'], unique=False)
    bind = op.get_bind()
    if bind.dialect.name == "sqlite" and bind.execute(sa.text(
            "SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'")).first():
        # The database keeps planner statistics (ANALYZE): add the new indexes', or SQLite weighs an
        # index it knows nothing about against ones it knows and keeps sorting every open touch.
        op.execute("ANALYZE ix_touch_open_planned")
        op.execute("ANALYZE ix_spoc_assignment_employer")


def downgrade() -> None:
    with op.batch_alter_table('spoc_assignment', schema=None) as batch_op:
        batch_op.drop_index('ix_spoc_assignment_employer')
    with op.batch_alter_table('touch', schema=None) as batch_op:
        batch_op.drop_index('ix_touch_open_planned', sqlite_where=_OPEN, postgresql_where=_OPEN)
