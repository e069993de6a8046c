"""Versions keep an outline of their sections, and each section's state once, instead of the whole text.

`policy_versions.sections` held every version's full section tree; a policy revised often stored the same
texts again with each version. Each version now has an `outline` (the tree by section id, each naming the
version whose state it has) and `section_states` holds a section's kind, label, title and text once per
version that set them. Existing versions are converted policy by policy, oldest first: a section keeps the
state of the version before unless its kind, label, title or text differ.

Frozen as written: later code changes go into new revisions, never into this one.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""
from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_FIELDS = ("kind", "label", "title", "text")


def upgrade() -> None:
    """Create section_states, give every version its outline from its tree, then drop the trees."""
    op.create_table(
        "section_states",
        sa.Column("policy_id", sa.String(length=200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("section_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("label", sa.Text(), nullable=True),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("policy_id", "version", "section_id"),
    )
    op.add_column("policy_versions", sa.Column("outline", sa.Text(), nullable=True))
    bind = op.get_bind()
    versions = sa.table("policy_versions", sa.column("policy_id"), sa.column("version"), sa.column("sections"),
                        sa.column("outline"))
    states = sa.table("section_states", *(sa.column(name) for name in ("policy_id", "version", "section_id",
                                                                        *_FIELDS)))
    policy_ids = bind.execute(sa.select(versions.c.policy_id).distinct()).scalars().all()
    for policy_id in policy_ids:
        known: dict[str, tuple[int, tuple[Any, ...]]] = {}  # section id: (version of its state, the state)
        numbers = bind.execute(sa.select(versions.c.version).where(versions.c.policy_id == policy_id)
                               .order_by(versions.c.version)).scalars().all()
        for number in numbers:
            tree = json.loads(bind.execute(sa.select(versions.c.sections).where(
                versions.c.policy_id == policy_id, versions.c.version == number)).scalar_one())
            new_states: list[dict[str, Any]] = []

            def convert(items: list[dict[str, Any]], number: int = number,
                        new_states: list[dict[str, Any]] = new_states) -> list[Any]:
                nodes = []
                for item in items:
                    state = (item["kind"], item.get("label"), item.get("title"), item.get("text", ""))
                    previous = known.get(item["id"])
                    if previous is None or previous[1] != state:
                        known[item["id"]] = previous = (number, state)
                        new_states.append({"policy_id": policy_id, "version": number, "section_id": item["id"],
                                           **dict(zip(_FIELDS, state))})
                    nodes.append([item["id"], previous[0], convert(item.get("children") or [])])
                return nodes

            outline = json.dumps(convert(tree), ensure_ascii=False, separators=(",", ":"))
            if new_states:
                bind.execute(sa.insert(states), new_states)
            bind.execute(sa.update(versions).where(versions.c.policy_id == policy_id, versions.c.version == number)
                         .values(outline=outline))
    with op.batch_alter_table("policy_versions") as batch:
        batch.drop_column("sections")
        batch.alter_column("outline", existing_type=sa.Text(), nullable=False)


def downgrade() -> None:
    """Refuse: restore a backup taken before this revision instead."""
    raise RuntimeError("downgrading 0005 is refused: restore a backup taken before it instead")
