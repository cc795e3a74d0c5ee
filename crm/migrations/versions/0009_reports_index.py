"""reports: the region's touches index also carries the employer (ix_touch_region_status_planned_employer)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25 22:40:00

The reports count a region's completed touches per employer over months and years (hundreds of
thousands of rows in Los Angeles): with ``employer_id`` in the index they read the index alone
instead of one table row per touch (LA-BASIN, 12 months, SQLite: 311 -> 51 ms). The old index is
its prefix, so the queue's reads by region, status and planned day use the new one as before.
No index for the requests' report (by region and day of arrival): it would cost every intake one more
B-tree insert (measured +0.1-0.25 ms of 3.3 ms, in-process) to save the report 200 ms (bench/README
"reports").
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('touch', schema=None) as batch_op:
        batch_op.create_index('ix_touch_region_status_planned_employer',
                              ['region_id', 'status', 'planned_on', 'employer_id'], unique=False)
        batch_op.drop_index('ix_touch_region_status_planned')
    bind = op.get_bind()
    if bind.dialect.name == "sqlite" and bind.execute(sa.text(
            "SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'")).first():
        # Planner statistics exist (ANALYZE): give the new index its own, as 0007 does.
        op.execute("ANALYZE ix_touch_region_status_planned_employer")


def downgrade() -> None:
    with op.batch_alter_table('touch', schema=None) as batch_op:
        batch_op.create_index('ix_touch_region_status_planned', ['region_id', 'status', 'planned_on'], unique=False)
        batch_op.drop_index('ix_touch_region_status_planned_employer')
