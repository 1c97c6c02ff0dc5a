"""item_fts_terms (SQLite): the full-text index's vocabulary, to spell a search's prefixes out as terms

A prefix query (``"sprachcafé"*``, as every search is) makes FTS5 merge
the doclists of all the prefix's terms into memory before it answers, even
for a single row id: a cost that grows with the store. Spelled out as its
terms (``"sprachcafe" OR "sprachcafes"``), the same query reads only what
it needs. This ``fts5vocab`` table (one row per term instance, no storage
of its own) finds those terms by seeking the index (kisync.web.query).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return  # PostgreSQL searches a generated tsvector column of item
    op.execute("CREATE VIRTUAL TABLE item_fts_terms USING fts5vocab(item_fts, instance)")


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("DROP TABLE item_fts_terms")
