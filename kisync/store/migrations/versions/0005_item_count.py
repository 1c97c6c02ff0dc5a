"""item_count: live items per origin, kind and facet value, and tombstones, kept by every write

Filled here by counting the stored rows once; from then on the store moves
the counts with each merge and purge (kisync.store.counts).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    count = op.create_table(
        "item_count",
        sa.Column("name", sa.String(length=20), nullable=False),
        sa.Column("value", sa.String(length=100), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", "value"),
    )
    item = sa.table("item", sa.column("kind", sa.String), sa.column("origin_id", sa.String), sa.column("deleted", sa.Boolean))
    facet = sa.table("item_facet", sa.column("facet", sa.String), sa.column("value", sa.String))
    live = item.c.deleted.is_(False)
    columns = ["name", "value", "n"]
    for name, column in (("origin", item.c.origin_id), ("kind", item.c.kind)):
        select = sa.select(sa.literal(name), column, sa.func.count()).where(live).group_by(column)
        op.execute(count.insert().from_select(columns, select))
    tombstones = sa.select(sa.literal("tombstones"), sa.literal(""), sa.func.count()).where(item.c.deleted.is_(True))
    op.execute(count.insert().from_select(columns, tombstones))
    by_value = sa.select(facet.c.facet, facet.c.value, sa.func.count()).group_by(facet.c.facet, facet.c.value)
    op.execute(count.insert().from_select(columns, by_value))


def downgrade() -> None:
    op.drop_table("item_count")
