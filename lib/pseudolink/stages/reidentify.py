"""Reidentify: the trusted third party's only way back from sequence numbers to INSZ (or
household ids), for a documented legal reason. Every use appends an audit record.

The key table holds tokens, not identifiers: the way back recomputes the tokens of the
identifiers known in the trusted area (the populations, DEMOBEL's reference persons)
under the keystore's key and keeps those whose number was asked. The answer is written to
``trusted/reidentify/<time>-<case>.csv`` (never to the log); the audit record
(``trusted/audit/reidentify.jsonl``: time, user, approver, case, reason, numbers asked,
numbers found, SHA-256 of the answer) holds no identifier. At most :data:`MAX_NUMBERS`
numbers per request, each approved by someone else than the one running it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
from pathlib import Path

from pyspark.sql import functions as F

from pseudolink.audit import current_user
from pseudolink.catalog import REIDENTIFY_AUDIT as AUDIT
from pseudolink.cli import JobContext
from pseudolink.config import uri_to_local_path
from pseudolink.errors import InputError, PseudolinkError
from pseudolink.masking import mask_insz
from pseudolink.pseudo.keytable import read_key_table
from pseudolink.stages import keys, pseudonymise

_CASE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$")
_APPROVER = re.compile(r"^[A-Za-z][A-Za-z0-9 ._@-]{1,63}$")


# At most this many numbers per request: a request is for a case, not for everyone.
MAX_NUMBERS = 10


def run(
    ctx: JobContext,
    domain: str,
    numbers: list[int],
    reason: str,
    case: str,
    approved_by: str,
) -> Path:
    """Answer one request (module doc). ``approved_by``: who approved it, not the user
    running the job (recorded)."""
    if not _CASE.match(case):
        raise InputError(f"--case {case!r}: expected a case reference (letters, digits, ._/-)")
    if len(reason.strip()) < 10:
        raise InputError("--reason: give the legal reason in words (at least 10 characters)")
    if len(set(numbers)) > MAX_NUMBERS:
        raise InputError(
            f"--person-seq/--household-seq: {len(set(numbers))} numbers asked; one request "
            f"may ask at most {MAX_NUMBERS} (a request per case)"
        )
    user = current_user()
    if not _APPROVER.match(approved_by.strip()):
        raise InputError("--approved-by: the name of who approved the request (letters, digits)")
    if approved_by.strip() == user.split(" ")[0]:
        raise InputError(f"--approved-by {approved_by!r}: the approver is not the one running it")
    keystore = keys.open_for_run(ctx)
    trusted = ctx.config.zone("trusted")
    table = read_key_table(ctx.spark, ctx.catalog.key_table(domain))
    if table is None:
        raise PseudolinkError(f"reidentify: no {domain} key table yet (run pseudonymise first)")
    wanted = table.filter(F.col("seq").isin(numbers)).select("token", "seq")
    ids = pseudonymise.identifiers(pseudonymise.tables(ctx))[domain]
    tokens = pseudonymise.with_tokens(
        ids, pseudonymise.domain_key(keystore, domain), ctx.config.pseudonymise.method
    )
    found = sorted(
        (int(r["seq"]), r["id"]) for r in wanted.join(tokens, "token").select("seq", "id").collect()
    )
    now = dt.datetime.now(dt.UTC)
    base = uri_to_local_path(trusted)
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    out = base / "reidentify" / f"{stamp}-{case.replace('/', '_')}.csv"
    out.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    column = "insz" if domain == "persons" else "household_id"
    text = f"seq;{column}\n" + "".join(f"{s};{i}\n" for s, i in found)
    record = {
        "time": now.isoformat(),
        "user": user,
        "approved_by": approved_by.strip(),
        "case": case,
        "reason": mask_insz(reason.strip()),  # a national number in the reason stays out
        "domain": domain,
        "asked": sorted(set(numbers)),
        "found": [s for s, _ in found],
        "answer_file": out.name,
        "answer_sha256": hashlib.sha256(text.encode()).hexdigest(),
        "key_id": keystore.key_id,
    }
    audit = base / AUDIT
    audit.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with audit.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(record, sort_keys=True) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    # The answer only once its audit record is on disk: a crash in between leaves a record
    # of an answer never written, never an answer without a record.
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    # The same record (numbers and reason, no identifier) in the job's chained event.
    ctx.audit.add(
        "reidentify",
        inputs=[f"trusted/keys/{domain}"],
        outputs=[f"trusted/reidentify/{out.name}"],
        counts={"asked": len(set(numbers)), "found": len(found)},
        record=record,
    )
    missing = sorted(set(numbers) - {s for s, _ in found})
    ctx.log.info(
        "reidentify: %d of %d numbers found, answer in %s (audit record in %s)%s",
        len(found),
        len(set(numbers)),
        out,
        audit,
        f"; not found: {missing}" if missing else "",
    )
    return out
