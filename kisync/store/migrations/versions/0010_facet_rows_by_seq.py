"""item_facet: found by the item's seq, not by its id; no foreign key

A facet row was written to two b-trees: the primary key (facet, value,
modified, item_id), which the feeds read, and ``ix_item_facet_item``, which
finds an item's rows to replace them. In a cold sync both take rows at
places all over the tree, and each commit writes every page it touched.
The second b-tree is now by ``item_seq``, the seq of the item version the
row belongs to: seqs only grow, so new rows go to its end, and a commit
writes a few pages of it instead of hundreds (issue #7: a fifth less
Store.merge time for 20,000 new items). The store finds a replaced item's
rows by the seq its stored row still carries, as it finds its FTS row
(migration 0006).

The foreign key to item.id goes: the store writes and removes facet rows
itself, in the transaction that writes the item, and only live items have
them; the one statement that deletes item rows (purging tombstones) deletes
none with facet rows. On SQLite every facet row inserted looked its item
up to check the key.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_COLUMNS = "facet, value, modified, item_id"
_KEY = "PRIMARY KEY (facet, value, modified, item_id)"


def _sqlite_create(with_seq: bool) -> None:
    seq = "item_seq BIGINT NOT NULL, " if with_seq else ""
    fk = "" if with_seq else ", FOREIGN KEY(item_id) REFERENCES item (id) ON DELETE CASCADE"
    op.execute(
        "CREATE TABLE item_facet_new ("
        "facet VARCHAR(20) NOT NULL, "
        "value VARCHAR(100) NOT NULL, "
        "modified DATETIME NOT NULL, "
        "item_id VARCHAR(2048) NOT NULL, "
        f"{seq}{_KEY}{fk}) WITHOUT ROWID"
    )


def _sqlite_analyze_again() -> None:
    # Dropping the table dropped its statistics; a store that had them (the planner chooses by
    # them at a million items, kisync.store.maintenance) gets them back now, not at the next tidy.
    if op.get_bind().execute(sa.text("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'")).first():
        op.execute("ANALYZE item_facet")


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_create(with_seq=True)
        op.execute(
            f"INSERT INTO item_facet_new ({_COLUMNS}, item_seq) "
            "SELECT f.facet, f.value, f.modified, f.item_id, i.seq FROM item_facet f JOIN item i ON i.id = f.item_id"
        )
        op.execute("DROP TABLE item_facet")
        op.execute("ALTER TABLE item_facet_new RENAME TO item_facet")
        op.execute("CREATE INDEX ix_item_facet_seq ON item_facet (item_seq)")
        _sqlite_analyze_again()
        return
    op.add_column("item_facet", sa.Column("item_seq", sa.BigInteger(), nullable=True))
    op.execute("UPDATE item_facet f SET item_seq = i.seq FROM item i WHERE i.id = f.item_id")
    op.alter_column("item_facet", "item_seq", nullable=False)
    for fk in sa.inspect(op.get_bind()).get_foreign_keys("item_facet"):
        op.drop_constraint(fk["name"], "item_facet", type_="foreignkey")
    op.drop_index("ix_item_facet_item", table_name="item_facet")
    op.create_index("ix_item_facet_seq", "item_facet", ["item_seq"])


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_create(with_seq=False)
        op.execute(f"INSERT INTO item_facet_new ({_COLUMNS}) SELECT {_COLUMNS} FROM item_facet")
        op.execute("DROP TABLE item_facet")
        op.execute("ALTER TABLE item_facet_new RENAME TO item_facet")
        op.execute("CREATE INDEX ix_item_facet_item ON item_facet (item_id)")
        _sqlite_analyze_again()
        return
    op.drop_index("ix_item_facet_seq", table_name="item_facet")
    op.create_index("ix_item_facet_item", "item_facet", ["item_id"])
    op.create_foreign_key(None, "item_facet", "item", ["item_id"], ["id"], ondelete="CASCADE")
    op.drop_column("item_facet", "item_seq")
