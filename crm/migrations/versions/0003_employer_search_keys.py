"""employer search keys: indexed blocking keys for typeahead and intake candidate retrieval

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 13:11:35.921875

After upgrading an existing database run ``crm employers reindex`` once to fill the keys.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('employer_search_key',
    sa.Column('key', sa.String(length=48), nullable=False),
    sa.Column('employer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['employer_id'], ['employer.id'], name=op.f('fk_employer_search_key_employer_id_employer'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('key', 'employer_id', name=op.f('pk_employer_search_key'))
    )
    with op.batch_alter_table('employer_search_key', schema=None) as batch_op:
        batch_op.create_index('ix_employer_search_key_employer_id', ['employer_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('employer_search_key', schema=None) as batch_op:
        batch_op.drop_index('ix_employer_search_key_employer_id')
    op.drop_table('employer_search_key')
