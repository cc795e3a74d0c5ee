"""role grants: one region-less grant per user and role

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-27 09:00:00

uq_role_grant_user_role_region cannot refuse a second admin, partner or chair grant of a user: their
region_id is NULL, and NULLs are distinct in a unique constraint on PostgreSQL and SQLite alike. Two
admins adding "partner" to one user at the same moment both succeeded. A unique partial index over
region-less grants refuses it. Duplicates made before it are deleted first, keeping the lowest id of
each (user, role): the grants are otherwise identical, and nothing refers to a grant's id. The
downgrade drops the index and leaves the data.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(sa.text(
        "DELETE FROM role_grant WHERE region_id IS NULL AND EXISTS ("
        " SELECT 1 FROM role_grant AS older WHERE older.user_id = role_grant.user_id"
        " AND older.role = role_grant.role AND older.region_id IS NULL AND older.id < role_grant.id)"))
    op.create_index('uq_role_grant_user_role_regionless', 'role_grant', ['user_id', 'role'], unique=True,
                    sqlite_where=sa.text('region_id IS NULL'), postgresql_where=sa.text('region_id IS NULL'))


def downgrade() -> None:
    op.drop_index('uq_role_grant_user_role_regionless', table_name='role_grant')
