"""crosswalk: services (seeds/services.csv, loaded by `crm seed`) and which organization offers which in which region

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25 23:20:00
"""
from __future__ import annotations

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('service',
    sa.Column('id', _ID, nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('created_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('updated_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service')),
    sa.UniqueConstraint('code', name=op.f('uq_service_code'))
    )
    op.create_table('service_offering',
    sa.Column('id', _ID, nullable=False),
    sa.Column('organization_id', _ID, nullable=False),
    sa.Column('region_id', _ID, nullable=False),
    sa.Column('service_id', _ID, nullable=False),
    sa.Column('created_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('updated_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'],
                            name=op.f('fk_service_offering_organization_id_organization'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['region_id'], ['region.id'], name=op.f('fk_service_offering_region_id_region'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['service_id'], ['service.id'], name=op.f('fk_service_offering_service_id_service'),
                            ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_offering')),
    sa.UniqueConstraint('organization_id', 'region_id', 'service_id', name='uq_service_offering')
    )
    with op.batch_alter_table('service_offering', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_service_offering_region_id'), ['region_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_service_offering_service_id'), ['service_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('service_offering', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_service_offering_service_id'))
        batch_op.drop_index(batch_op.f('ix_service_offering_region_id'))
    op.drop_table('service_offering')
    op.drop_table('service')
