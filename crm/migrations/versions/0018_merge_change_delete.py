"""employer_merge_change: a merge may log a deleted row

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-27 06:30:00

A merge now keeps one record of a person both employers had: the touches the loser's record was
met on are linked to the survivor's instead, and the loser's link is deleted (logged as 'delete',
which undo puts back). The check on the logged action admits it.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('employer_merge_change', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_employer_merge_change_action_known'), type_='check')
        batch_op.create_check_constraint(op.f('ck_employer_merge_change_action_known'),
                                         sa.text("action IN ('move','update','insert','delete')"))


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM employer_merge_change WHERE action = 'delete'"))
    with op.batch_alter_table('employer_merge_change', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_employer_merge_change_action_known'), type_='check')
        batch_op.create_check_constraint(op.f('ck_employer_merge_change_action_known'),
                                         sa.text("action IN ('move','update','insert')"))
