"""item_fts (SQLite): rows keyed by the item's change sequence instead of an unindexed item id

FTS5 cannot index a column of its own other than through MATCH, so
replacing the text of changed items (``DELETE … WHERE item_id IN …``) read
every row of the table: a full scan per merge, growing with the store. The
row id is now the item's ``seq``, which the item row carries (unique,
indexed): the store deletes and inserts FTS rows by it, and a search joins
its matches to items on it.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_TOKENIZE = "tokenize = 'unicode61 remove_diacritics 2'"


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return  # PostgreSQL searches a generated tsvector column of item
    op.execute("DROP TABLE item_fts")
    op.execute(f"CREATE VIRTUAL TABLE item_fts USING fts5(text, {_TOKENIZE})")
    op.execute(
        "INSERT INTO item_fts (rowid, text) SELECT seq, search_text FROM item "
        "WHERE NOT deleted AND search_text IS NOT NULL"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("DROP TABLE item_fts")
    op.execute(f"CREATE VIRTUAL TABLE item_fts USING fts5(item_id UNINDEXED, text, {_TOKENIZE})")
    op.execute(
        "INSERT INTO item_fts (item_id, text) SELECT id, search_text FROM item "
        "WHERE NOT deleted AND search_text IS NOT NULL"
    )
