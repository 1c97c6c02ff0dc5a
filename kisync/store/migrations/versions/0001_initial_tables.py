"""initial tables: centres, sources, fetch state, items, provenance, counters

Column types are spelled out here, not imported from kisync, so that this
revision stays what it was when later code changes.

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('centre',
    sa.Column('id', sa.String(length=100), nullable=False),
    sa.Column('name', sa.String(length=500), nullable=False),
    sa.Column('ars', sa.String(length=12), nullable=True),
    sa.Column('url', sa.String(length=2048), nullable=True),
    sa.Column('kind', sa.String(length=100), nullable=True),
    sa.Column('region', sa.String(length=100), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('counter',
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('value', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('item',
    sa.Column('id', sa.String(length=2048), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('version_key', sa.String(length=120), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('origin_id', sa.String(length=100), nullable=False),
    sa.Column('created', sa.DateTime(), nullable=False),
    sa.Column('modified', sa.DateTime(), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('title', sa.String(length=500), nullable=True),
    sa.Column('language', sa.String(length=35), nullable=True),
    sa.Column('url', sa.String(length=2048), nullable=True),
    sa.Column('data', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('seq')
    )
    with op.batch_alter_table('item', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_item_modified'), ['modified'], unique=False)
        batch_op.create_index('ix_item_origin_seq', ['origin_id', 'seq'], unique=False)

    op.create_table('source',
    sa.Column('id', sa.String(length=100), nullable=False),
    sa.Column('url', sa.String(length=2048), nullable=False),
    sa.Column('format', sa.String(length=20), nullable=False),
    sa.Column('centre_id', sa.String(length=100), nullable=True),
    sa.Column('relay', sa.Boolean(), nullable=False),
    sa.Column('interval', sa.Integer(), nullable=False),
    sa.Column('defaults', sa.Text(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('managed_by', sa.String(length=20), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('item_source',
    sa.Column('item_id', sa.String(length=2048), nullable=False),
    sa.Column('source_id', sa.String(length=100), nullable=False),
    sa.Column('first_seen', sa.DateTime(), nullable=False),
    sa.Column('last_seen', sa.DateTime(), nullable=False),
    sa.Column('reported_modified', sa.DateTime(), nullable=False),
    sa.Column('reported_hash', sa.String(length=64), nullable=False),
    sa.Column('via', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['item.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('item_id', 'source_id')
    )
    op.create_table('source_state',
    sa.Column('source_id', sa.String(length=100), nullable=False),
    sa.Column('etag', sa.String(length=1000), nullable=True),
    sa.Column('last_modified', sa.String(length=100), nullable=True),
    sa.Column('cursor', sa.String(length=200), nullable=True),
    sa.Column('last_attempt', sa.DateTime(), nullable=True),
    sa.Column('last_success', sa.DateTime(), nullable=True),
    sa.Column('http_status', sa.Integer(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('consecutive_failures', sa.Integer(), nullable=False),
    sa.Column('next_due', sa.DateTime(), nullable=True),
    sa.Column('lease_owner', sa.String(length=200), nullable=True),
    sa.Column('lease_until', sa.DateTime(), nullable=True),
    sa.Column('seen', sa.Integer(), nullable=False),
    sa.Column('new', sa.Integer(), nullable=False),
    sa.Column('updated', sa.Integer(), nullable=False),
    sa.Column('deleted', sa.Integer(), nullable=False),
    sa.Column('warnings', sa.Text(), nullable=False),
    sa.Column('on_hold', sa.Text(), nullable=True),
    sa.Column('deletion_approved', sa.Boolean(), nullable=False, server_default=sa.false()),
    sa.ForeignKeyConstraint(['source_id'], ['source.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('source_id')
    )
    with op.batch_alter_table('source_state', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_source_state_next_due'), ['next_due'], unique=False)

    counter = sa.table('counter', sa.column('name', sa.String), sa.column('value', sa.BigInteger))
    op.bulk_insert(counter, [{'name': 'change_seq', 'value': 0}])



def downgrade() -> None:
    with op.batch_alter_table('source_state', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_source_state_next_due'))

    op.drop_table('source_state')
    op.drop_table('item_source')
    op.drop_table('source')
    with op.batch_alter_table('item', schema=None) as batch_op:
        batch_op.drop_index('ix_item_origin_seq')
        batch_op.drop_index(batch_op.f('ix_item_modified'))

    op.drop_table('item')
    op.drop_table('counter')
    op.drop_table('centre')
