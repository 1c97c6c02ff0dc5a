"""facets and full-text search for the feed filters; tombstone purge counters

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    with op.batch_alter_table("item", schema=None) as batch_op:
        batch_op.add_column(sa.Column("search_text", sa.Text(), nullable=True))
        batch_op.drop_index("ix_item_modified")
        batch_op.create_index("ix_item_modified_id", ["modified", "id"], unique=False)

    op.create_table(
        "item_facet",
        sa.Column("facet", sa.String(length=20), nullable=False),
        sa.Column("value", sa.String(length=100), nullable=False),
        sa.Column("item_id", sa.String(length=2048), nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["item.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("facet", "value", "item_id"),
    )
    op.create_index("ix_item_facet_item", "item_facet", ["item_id"], unique=False)

    if bind.dialect.name == "postgresql":
        # German stemming ("Schulen" finds "Schule"); kept by PostgreSQL itself.
        op.execute(
            "ALTER TABLE item ADD COLUMN search tsvector "
            "GENERATED ALWAYS AS (to_tsvector('german', coalesce(search_text, ''))) STORED"
        )
        op.execute("CREATE INDEX ix_item_search ON item USING gin (search)")
    else:
        # FTS5 keeps its own copy of the text; the store writes it with the item.
        op.execute(
            "CREATE VIRTUAL TABLE item_fts USING fts5(item_id UNINDEXED, text, "
            "tokenize = 'unicode61 remove_diacritics 2')"
        )

    counter = sa.table("counter", sa.column("name", sa.String), sa.column("value", sa.BigInteger))
    op.bulk_insert(counter, [{"name": "purged_seq", "value": 0}, {"name": "purged_before_us", "value": 0}])


def downgrade() -> None:
    bind = op.get_bind()
    op.execute("DELETE FROM counter WHERE name IN ('purged_seq', 'purged_before_us')")
    if bind.dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_item_search")
        op.execute("ALTER TABLE item DROP COLUMN search")
    else:
        op.execute("DROP TABLE IF EXISTS item_fts")
    op.drop_index("ix_item_facet_item", table_name="item_facet")
    op.drop_table("item_facet")
    with op.batch_alter_table("item", schema=None) as batch_op:
        batch_op.drop_index("ix_item_modified_id")
        batch_op.create_index("ix_item_modified", ["modified"], unique=False)
        batch_op.drop_column("search_text")
