"""Reidentify: the trusted third party's only way back from sequence numbers to INSZ (or
household ids), for a documented legal reason. Every use appends an audit record.

The key table holds tokens, not identifiers: the way back recomputes the tokens of the
identifiers known in the trusted area (the populations, DEMOBEL's reference persons)
under the keystore's key and keeps those whose number was asked. The answer is written to
``trusted/reidentify/<time>-<case>.csv`` (never to the log); the audit record
(``trusted/audit/reidentify.jsonl``: time, user, case, reason, numbers asked, numbers
found, SHA-256 of the answer) holds no identifier.
"""

from __future__ import annotations

import datetime as dt
import getpass
import hashlib
import json
import re
from pathlib import Path

from pyspark.sql import functions as F

from pseudolink.catalog import REIDENTIFY_AUDIT as AUDIT
from pseudolink.cli import JobContext
from pseudolink.config import uri_to_local_path
from pseudolink.errors import InputError, PseudolinkError
from pseudolink.pseudo.keytable import read_key_table
from pseudolink.stages import keys, pseudonymise

_CASE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$")


def run(ctx: JobContext, domain: str, numbers: list[int], reason: str, case: str) -> Path:
    if not _CASE.match(case):
        raise InputError(f"--case {case!r}: expected a case reference (letters, digits, ._/-)")
    if len(reason.strip()) < 10:
        raise InputError("--reason: give the legal reason in words (at least 10 characters)")
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
    out.write_text(text, encoding="utf-8")
    out.chmod(0o600)
    record = {
        "time": now.isoformat(),
        "user": getpass.getuser(),
        "case": case,
        "reason": reason.strip(),
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
