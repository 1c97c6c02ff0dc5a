"""source: the operator's switch and config.yaml's ``enabled`` kept apart

``enabled`` held both: every start stored ``stored AND file``, so once the
file had said ``enabled: false``, setting it back to ``true`` never
re-enabled the source; the store could not tell the file's disable from an
operator's (``kisync sources disable``, the admin API). ``enabled`` becomes
``operator_enabled``, the operator's switch; ``config_enabled`` holds the
file's, taken on every start (always on for an admin source). A source is
fetched when both are on.

Existing rows. A source stored enabled gets both switches on. An admin
source stored disabled was disabled by an operator: no file speaks for it.
A config source stored disabled may be either's doing, and only the file can
tell, which a migration does not read: its ``config_enabled`` is left NULL
(off, so nothing changes until then) and the next start decides
(``kisync.sources``). If the file still says ``enabled: false``, the disable
is taken as the file's: the operator's switch goes on, and setting the file
to ``true`` later re-enables the source, the edit this revision is for. If
the file says ``true``, the disable is kept as an operator's: it may be one,
or an earlier ``false`` → ``true`` edit the old code lost, but fetching a
source someone turned off is the worse mistake, and ``kisync sources enable
ID`` undoes the other. Lost for good: an operator's disable of a source the
file disabled as well (the old code stored nothing for it); such a source
comes back when the file says ``true``.

Downgrade folds the switches back into ``enabled``, on only when both are:
what the old code would have stored.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def _source() -> sa.TableClause:
    return sa.table(
        "source",
        sa.column("managed_by", sa.String),
        sa.column("operator_enabled", sa.Boolean),
        sa.column("config_enabled", sa.Boolean),
    )


def upgrade() -> None:
    # RENAME COLUMN, also on SQLite (3.25+): no rebuild of the table that source_state's cascade points at.
    op.alter_column("source", "enabled", new_column_name="operator_enabled")
    op.add_column("source", sa.Column("config_enabled", sa.Boolean(), nullable=True))
    source = _source()
    decided = sa.or_(source.c.managed_by != "config", source.c.operator_enabled.is_(True))
    op.execute(source.update().where(decided).values(config_enabled=True))


def downgrade() -> None:
    source = _source()
    op.execute(source.update().where(source.c.config_enabled.is_not(True)).values(operator_enabled=False))
    op.drop_column("source", "config_enabled")
    op.alter_column("source", "operator_enabled", new_column_name="enabled")
