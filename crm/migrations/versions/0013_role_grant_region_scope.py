"""role grants: only SPOCs and leads carry a region

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-26 11:00:00

An admin works in every region, a partner is scoped by their organization and a chair by the
councils and partnerships they sit on; until 2026-11-26 the admin page and `crm users create`
accepted a region for them anyway, which nothing enforced but the pages showed ("admin · LA-BASIN"
read as a limit), the crosswalk took as the user's default region and /api/auth/me reported. Such
grants lose the region: one that duplicates a grant of the same role the user also holds (without a
region, or in another region) is deleted, keeping the user's oldest; the rest have it set to NULL.
Then a check refuses a region on those roles. The downgrade drops the check and leaves the data.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

_REGIONLESS = "role NOT IN ('lead','spoc') AND region_id IS NOT NULL"


def upgrade() -> None:
    # Keep one grant per (user, role): the one without a region if there is one, else the oldest.
    op.execute(sa.text(
        f"DELETE FROM role_grant WHERE {_REGIONLESS} AND EXISTS ("
        " SELECT 1 FROM role_grant AS other WHERE other.user_id = role_grant.user_id"
        " AND other.role = role_grant.role AND (other.region_id IS NULL OR other.id < role_grant.id))"))
    op.execute(sa.text(f"UPDATE role_grant SET region_id = NULL WHERE {_REGIONLESS}"))
    with op.batch_alter_table('role_grant', schema=None) as batch_op:
        batch_op.create_check_constraint(
            op.f('ck_role_grant_region_only_for_staff'), sa.text("role IN ('lead','spoc') OR region_id IS NULL"))


def downgrade() -> None:
    with op.batch_alter_table('role_grant', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_role_grant_region_only_for_staff'), type_='check')
