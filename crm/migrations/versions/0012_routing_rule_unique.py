"""routing rules: at most one active rule per region, sector prefix and county

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-26 08:00:00

A unique partial index on (region, COALESCE(naics_prefix, ''), COALESCE(county_id, 0)) over active
rules, so two leads adding the same rule at once cannot both succeed. Active duplicates made
before it (the app refused them only by a check since 2026-11-26) are deactivated first, keeping
the oldest rule of each target, which is the one routing already used at equal priority; the
deactivated rows stay as history, like a removed rule.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(sa.text(
        "UPDATE routing_rule SET active = :no WHERE active AND EXISTS ("
        " SELECT 1 FROM routing_rule AS older WHERE older.active AND older.region_id = routing_rule.region_id"
        " AND coalesce(older.naics_prefix, '') = coalesce(routing_rule.naics_prefix, '')"
        " AND coalesce(older.county_id, 0) = coalesce(routing_rule.county_id, 0)"
        " AND older.id < routing_rule.id)").bindparams(no=False))
    op.create_index('uq_routing_rule_active_target', 'routing_rule',
                    ['region_id', sa.text("coalesce(naics_prefix, '')"), sa.text('coalesce(county_id, 0)')],
                    unique=True, sqlite_where=sa.text('active'), postgresql_where=sa.text('active'))


def downgrade() -> None:
    op.drop_index('uq_routing_rule_active_target', table_name='routing_rule')
