"""councils and partnerships: one of a name per owner and region (councils) or per regions (partnerships)

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-28 10:00:00

"New council" sent twice (a double click, a retried post) created two identical councils, and "New
partnership" two identical partnerships. A council's name is now unique per owner organization and
region, a partnership's per set of regions, in any case and spacing: ``name_key`` holds the name as
``crm.sqltext.name_key`` folds it (spaces collapsed, case-folded), ``regions_key`` a partnership's
region codes (sorted, space-separated; its regions are fixed once it is created), and a unique
constraint refuses the second.

Duplicates made before this revision are kept, not deleted (they may hold members, meetings and
attendance counted as touches): in id order, the first keeps its name and each later one is renamed
with the first free suffix " (2)", " (3)", ... (the name shortened to stay within 200 characters), and
the rename is written to the audit log as ``council.rename_duplicate`` / ``partnership.rename_duplicate``
(no actor: the migration), so that staff can find the pairs and merge or delete them by hand.
The downgrade drops the keys and the constraints and keeps the new names.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None

NAME_MAX = 200
KEY_LENGTH = 600


def _name_key(name: str) -> str:
    # crm.sqltext.name_key as of this revision (a migration does not change when the code does).
    return " ".join(name.split()).casefold()


_AUDIT = sa.table(
    "audit_event", sa.column("actor_id", sa.Integer), sa.column("action", sa.String),
    sa.column("entity_type", sa.String), sa.column("entity_id", sa.Integer), sa.column("before", sa.JSON),
    sa.column("after", sa.JSON), sa.column("note", sa.Text),
    sa.column("created_at", advanced_alchemy.types.DateTimeUTC(timezone=True)),
    sa.column("updated_at", advanced_alchemy.types.DateTimeUTC(timezone=True)))


def _suffixed(name: str, n: int) -> str:
    suffix = f" ({n})"
    return name[:NAME_MAX - len(suffix)].rstrip() + suffix


def _key_rows(table: str, rows: list[Any], group: Callable[[Any], tuple[Any, ...]], action: str,
              extra: Callable[[Any], dict[str, str]]) -> None:
    """Set each row's keys (``extra``: any besides ``name_key``) and rename the later duplicates, audited."""
    bind = op.get_bind()
    every = {(*group(r), _name_key(r.name)) for r in rows}  # the names there are: no rename takes one of them
    kept: set[tuple[Any, ...]] = set()
    now = dt.datetime.now(dt.UTC)
    for r in rows:
        name, n = r.name, 1
        key = (*group(r), _name_key(name))
        while key in kept or (n > 1 and key in every):
            n += 1
            name = _suffixed(r.name, n)
            key = (*group(r), _name_key(name))
        kept.add(key)
        bind.execute(sa.text(f"UPDATE {table} SET name = :name, name_key = :key"
                             + "".join(f", {k} = :{k}" for k in extra(r)) + " WHERE id = :id"),
                     {"name": name, "key": _name_key(name), "id": r.id, **extra(r)})
        if name != r.name:
            bind.execute(sa.insert(_AUDIT).values(
                actor_id=None, action=action, entity_type=table, entity_id=r.id, before={"name": r.name},
                after={"name": name}, note="renamed by migration 0021: a duplicate of an older one of the same name",
                created_at=now, updated_at=now))


def upgrade() -> None:
    with op.batch_alter_table('advisory_council', schema=None) as batch_op:
        batch_op.add_column(sa.Column('name_key', sa.String(length=KEY_LENGTH), nullable=True))
    with op.batch_alter_table('sector_partnership', schema=None) as batch_op:
        batch_op.add_column(sa.Column('name_key', sa.String(length=KEY_LENGTH), nullable=True))
        batch_op.add_column(sa.Column('regions_key', sa.String(length=KEY_LENGTH), nullable=True))
    bind = op.get_bind()
    councils = list(bind.execute(sa.text(
        "SELECT id, name, owner_organization_id, region_id FROM advisory_council ORDER BY id")))
    _key_rows("advisory_council", councils, lambda r: (r.owner_organization_id, r.region_id),
              "council.rename_duplicate", lambda r: {})
    codes: dict[int, list[str]] = {}
    for partnership_id, code in bind.execute(sa.text(
            "SELECT pr.partnership_id, r.code FROM sector_partnership_region pr JOIN region r ON r.id = pr.region_id")):
        codes.setdefault(partnership_id, []).append(code)
    regions_key = {pid: " ".join(sorted(c)) for pid, c in codes.items()}
    partnerships = list(bind.execute(sa.text("SELECT id, name FROM sector_partnership ORDER BY id")))
    _key_rows("sector_partnership", partnerships, lambda r: (regions_key.get(r.id, ""),),
              "partnership.rename_duplicate", lambda r: {"regions_key": regions_key.get(r.id, "")})
    with op.batch_alter_table('advisory_council', schema=None) as batch_op:
        batch_op.alter_column('name_key', existing_type=sa.String(length=KEY_LENGTH), nullable=False)
        batch_op.create_unique_constraint('uq_advisory_council_owner_region_name',
                                          ['owner_organization_id', 'region_id', 'name_key'])
    with op.batch_alter_table('sector_partnership', schema=None) as batch_op:
        batch_op.alter_column('name_key', existing_type=sa.String(length=KEY_LENGTH), nullable=False)
        batch_op.alter_column('regions_key', existing_type=sa.String(length=KEY_LENGTH), nullable=False)
        batch_op.create_unique_constraint('uq_sector_partnership_name_regions', ['name_key', 'regions_key'])


def downgrade() -> None:
    with op.batch_alter_table('sector_partnership', schema=None) as batch_op:
        batch_op.drop_constraint('uq_sector_partnership_name_regions', type_='unique')
        batch_op.drop_column('regions_key')
        batch_op.drop_column('name_key')
    with op.batch_alter_table('advisory_council', schema=None) as batch_op:
        batch_op.drop_constraint('uq_advisory_council_owner_region_name', type_='unique')
        batch_op.drop_column('name_key')
