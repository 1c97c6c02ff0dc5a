"""Alembic environment: runs against the engine kisync hands over.

kisync calls Alembic from code (``kisync db upgrade``), never through an
``alembic.ini``; the engine arrives in ``config.attributes["engine"]``.
"""

from alembic import context
from sqlmodel import SQLModel

from kisync.store import tables  # noqa: F401  (registers the tables on SQLModel.metadata)
from kisync.store.db import include_name

target_metadata = SQLModel.metadata


def run_migrations_online() -> None:
    engine = context.config.attributes["engine"]
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER most things
            compare_type=True,
            include_name=include_name,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


if context.is_offline_mode():
    raise SystemExit("kisync migrations run online only: use `kisync db upgrade`")
run_migrations_online()
