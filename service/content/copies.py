"""A controlled copy's block of print details, shared by the PDF and Word copies and read back by the PDF import."""
from __future__ import annotations

from typing import Any

# The block opens with this line; the PDF import leaves the block out of a controlled copy it reads back.
OPENING = "Controlled copy as of"
# What a controlled copy's PDF carries in its keywords, so the import knows to look for the block.
KEYWORD = "policy-ledger-controlled-copy"


def stamp_lines(stamp: dict[str, Any]) -> list[str]:
    """Return the lines naming what a copy is a copy of: policy, version, effective date, approvers, hash, time."""
    lines = [
        f"{OPENING} {stamp['printed_at']}: printed from the ledger; once a later version takes effect it is "
        "out of date",
        f"Policy {stamp['policy_id']}: {stamp['title']}",
        f"Version {stamp['version']}, effective from {stamp['effective_from']}",
    ]
    for approver in stamp["approvers"]:
        lines.append(f"Approved by {approver['name']}, {approver['role']}, as “{approver['meaning']}” "
                     f"at {approver['at']}")
    if not stamp["approvers"]:
        lines.append("Adopted as approved outside the ledger" if stamp["adopted"] else "No approvals recorded")
    lines.append(f"Content hash {stamp['content_hash']}")
    return lines
