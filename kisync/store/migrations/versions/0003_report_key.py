"""also reported by: item.report_key, indexed, filled for the stored live items

The key is the one ``kisync.store.reports.report_key`` computes; it is
copied here, as this revision computed it, so that the revision stays what
it was when that function changes (a changed rule needs a revision of its own).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

import hashlib
from urllib.parse import urlsplit

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_HOME_PAGES = {"index.html", "index.htm", "index.php", "index.jsp", "default.aspx", "default.asp", "home", "start", "startseite"}
_BATCH = 1000


def _report_key(url):
    if not url:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    segments = [s for s in parts.path.split("/") if s]
    if not segments or (len(segments) == 1 and segments[0].lower() in _HOME_PAGES):
        return None
    canonical = parts.netloc.lower() + "/" + "/".join(segments)
    if parts.query:
        canonical += "?" + parts.query
    if parts.fragment:
        canonical += "#" + parts.fragment
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def upgrade() -> None:
    with op.batch_alter_table("item", schema=None) as batch_op:
        batch_op.add_column(sa.Column("report_key", sa.String(length=64), nullable=True))
        batch_op.create_index("ix_item_report_key", ["report_key"], unique=False)

    bind = op.get_bind()
    item = sa.table(
        "item",
        sa.column("id", sa.String),
        sa.column("url", sa.String),
        sa.column("deleted", sa.Boolean),
        sa.column("report_key", sa.String),
    )
    rows = bind.execute(sa.select(item.c.id, item.c.url).where(item.c.deleted.is_(False), item.c.url.is_not(None))).all()
    keyed = [{"item_id": row.id, "key": key} for row in rows if (key := _report_key(row.url))]
    update = item.update().where(item.c.id == sa.bindparam("item_id")).values(report_key=sa.bindparam("key"))
    for start in range(0, len(keyed), _BATCH):
        bind.execute(update, keyed[start : start + _BATCH])


def downgrade() -> None:
    with op.batch_alter_table("item", schema=None) as batch_op:
        batch_op.drop_index("ix_item_report_key")
        batch_op.drop_column("report_key")
