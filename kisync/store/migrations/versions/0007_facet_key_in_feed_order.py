"""item_facet: primary key (facet, value, modified, item_id), in feed order; SQLite without rowid

Three b-trees held the same facet rows: the table's key (facet, value,
item_id), the ordered index (facet, value, modified, item_id) the feeds
read (0004), and the index by item. Every facet row (about 13 per item)
went into each of them, plus the rowid table on SQLite: the largest single
cost of a merge (issue #7: 7 of 25 s for 20,000 new items, and about as
much again in commit, writing the pages those inserts touched).

The key is now the ordered index itself. It is as unique as the old key:
an item has one ``modified``, and the store writes each (facet, value) of
an item once. On SQLite the table is ``WITHOUT ROWID``, clustered by that
key, so a facet row is written to two b-trees instead of four.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_COLUMNS = "facet, value, modified, item_id"


def _sqlite_rebuild(key: str, without_rowid: bool, indexes: list[str]) -> None:
    op.execute(
        "CREATE TABLE item_facet_new ("
        "facet VARCHAR(20) NOT NULL, "
        "value VARCHAR(100) NOT NULL, "
        "modified DATETIME NOT NULL, "
        "item_id VARCHAR(2048) NOT NULL, "
        f"PRIMARY KEY ({key}), "
        "FOREIGN KEY(item_id) REFERENCES item (id) ON DELETE CASCADE"
        f"){' WITHOUT ROWID' if without_rowid else ''}"
    )
    op.execute(f"INSERT INTO item_facet_new ({_COLUMNS}) SELECT {_COLUMNS} FROM item_facet")
    op.execute("DROP TABLE item_facet")
    op.execute("ALTER TABLE item_facet_new RENAME TO item_facet")
    for index in indexes:
        op.execute(index)


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_rebuild(_COLUMNS, True, ["CREATE INDEX ix_item_facet_item ON item_facet (item_id)"])
        return
    op.drop_index("ix_item_facet_value_modified", table_name="item_facet")
    op.drop_constraint("item_facet_pkey", "item_facet", type_="primary")
    op.create_primary_key("item_facet_pkey", "item_facet", ["facet", "value", "modified", "item_id"])


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_rebuild("facet, value, item_id", False, [
            "CREATE INDEX ix_item_facet_item ON item_facet (item_id)",
            "CREATE INDEX ix_item_facet_value_modified ON item_facet (facet, value, modified, item_id)",
        ])
        return
    op.drop_constraint("item_facet_pkey", "item_facet", type_="primary")
    op.create_primary_key("item_facet_pkey", "item_facet", ["facet", "value", "item_id"])
    op.create_index("ix_item_facet_value_modified", "item_facet", ["facet", "value", "modified", "item_id"])
