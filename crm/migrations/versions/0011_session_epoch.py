"""users: session_epoch, stamped into a browser session at sign-in; raising it ends older sign-ins

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-26 04:20:00

A password set by an admin and a deactivation raise it, so whoever was signed in before (with the
old password, or while still active) is signed out on their next request. Sessions created before
this revision carry no epoch and read as 0, the column's default: they stay signed in.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_epoch', sa.Integer(), server_default='0', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_column('session_epoch')
