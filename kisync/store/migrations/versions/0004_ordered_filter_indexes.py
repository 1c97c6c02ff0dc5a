"""newest-first filters from one index: item_facet.modified, (facet, value, modified, item_id), (origin_id, modified, id)

A feed filtered by a facet or a centre reads the newest ``limit`` rows of
one composite index in order instead of collecting every match and sorting
(issue #7). ``item_facet.modified`` repeats ``item.modified``: the store
rewrites an item's facet rows with every new version, so the copy is always
the current one. Existing rows get it from their item.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("item_facet", schema=None) as batch_op:
        batch_op.add_column(sa.Column("modified", sa.DateTime(), nullable=True))
    op.execute("UPDATE item_facet SET modified = (SELECT item.modified FROM item WHERE item.id = item_facet.item_id)")
    with op.batch_alter_table("item_facet", schema=None) as batch_op:
        batch_op.alter_column("modified", existing_type=sa.DateTime(), nullable=False)
        batch_op.create_index("ix_item_facet_value_modified", ["facet", "value", "modified", "item_id"], unique=False)
    with op.batch_alter_table("item", schema=None) as batch_op:
        batch_op.create_index("ix_item_origin_modified", ["origin_id", "modified", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("item", schema=None) as batch_op:
        batch_op.drop_index("ix_item_origin_modified")
    with op.batch_alter_table("item_facet", schema=None) as batch_op:
        batch_op.drop_index("ix_item_facet_value_modified")
        batch_op.drop_column("modified")
