"""Audit stage: verify the hash-chained audit log of the trusted area (docs/audit.md)."""

from __future__ import annotations

import re

from pseudolink.audit import AuditError, audit_folder, verify
from pseudolink.cli import JobContext
from pseudolink.errors import InputError

_ANCHOR = re.compile(r"^([0-9]+):([0-9a-f]{64})$")


def parse_anchor(text: str | None) -> tuple[int, str] | None:
    if text is None:
        return None
    found = _ANCHOR.match(text)
    if not found:
        raise InputError(f"--anchor {text!r}: expected SEQ:HASH (a number, ':', 64 hex)")
    return int(found[1]), found[2]


def run(ctx: JobContext, anchor: str | None = None) -> dict:
    """Check the whole chain and the head (and an anchor); raise on any problem."""
    folder = audit_folder(ctx.config)
    found = verify(folder, parse_anchor(anchor))
    for note in found.notes:
        ctx.log.info("audit: note: %s", note)
    if not found.ok:
        ctx.audit.record = False  # a broken chain is not extended
        shown = "; ".join(found.problems[:5])
        more = f" (and {len(found.problems) - 5} more)" if len(found.problems) > 5 else ""
        raise AuditError(f"{folder / 'events.jsonl'}: the audit log was altered: {shown}{more}")
    head = found.head or {"seq": 0, "hash": "-"}
    ctx.audit.add(
        "audit verify",
        inputs=["trusted/audit/events.jsonl"],
        counts={"events": found.events, "head_seq": head["seq"]},
    )
    return {"events": found.events, "head": head, "folder": str(folder)}
