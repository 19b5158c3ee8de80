"""Purge stage: destroy the KSZ and VDAB data once they are linked, pseudonymised and
released (deliberation 26/050: "destroyed right after processing"). Details: docs/purge.md.

1. Refuse unless the linkage read every bronze KSZ and VDAB row, every linked table is
   pseudonymised row for row, and a complete release was made from the pseudonymised
   tables (the message names what is missing); nothing is touched then.
2. Inventory what will be destroyed (per table or folder: rows, files, bytes, SHA-256 of
   every file) into ``trusted/audit/purge-inventory-<time>.json``.
3. The marker ``trusted/purge.json`` says ``started``: from here on the stages that need
   the data refuse, and a rerun of purge finishes the work.
4. Per Delta table of ``bronze/{ksz,vdab}`` and ``trusted/linked/{ksz,vdab}``: DELETE,
   REORG ... APPLY (PURGE) when deletion vectors are on, VACUUM RETAIN 0 HOURS, a check
   that no data file is left, then the folder (its log still holds column statistics).
   The KSZ and VDAB rows of ``bronze/_quarantine`` get the same steps, then a fresh log.
   ``inbox/ksz`` and ``inbox/vdab`` are removed.
5. Verify on disk; the marker says ``done``; the audit event carries the inventory's hash.
Kept: Statbel's bronze tables, inbox and quarantine rows, the populations, the key tables
and keystore, the pseudonymised tables, the release, and the reports (counts only).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from dataclasses import dataclass

from pseudolink.catalog import LINKED, QUARANTINE
from pseudolink.cli import JobContext
from pseudolink.erasure import data_files, erase, finish_rewrite, leftover_files, rewrite_log
from pseudolink.errors import PseudolinkError
from pseudolink.link.rules import RULES
from pseudolink.purged import PURGED_SOURCES, marker_path, purge_state, write_state
from pseudolink.release.rules import load_rules
from pseudolink.storage import HadoopFs, is_delta, utc_now

CONDITION = "source IN ('ksz', 'vdab')"


class PurgeRefused(PseudolinkError):
    """The data may not be destroyed yet: something is not finished."""


@dataclass(frozen=True)
class Target:
    """Something to destroy: a whole Delta ``table``, the KSZ/VDAB ``rows`` of one, or a
    ``folder`` of files."""

    kind: str
    uri: str
    rel: str


def targets(ctx: JobContext, fs: HadoopFs, inbox: bool = True) -> list[Target]:
    """What purge destroys, found on disk (tables first, then the folders that held them)."""
    root = ctx.config.root.rstrip("/") + "/"
    zones = [ctx.config.zone("bronze"), ctx.catalog.trusted(LINKED)]
    tables, folders = [], []
    for source in PURGED_SOURCES:
        for zone in zones:
            base = f"{zone}/{source}"
            if fs.is_dir(base):
                for e in fs.list(base):
                    if e.is_dir and fs.exists(f"{base}/{e.name}/_delta_log"):
                        uri = f"{base}/{e.name}"
                        tables.append(Target("table", uri, uri[len(root) :]))
                folders.append(Target("folder", base, base[len(root) :]))
        if inbox:
            base = f"{ctx.config.zone('inbox')}/{source}"
            if fs.exists(base):
                folders.append(Target("folder", base, base[len(root) :]))
    out = tables
    quarantine = ctx.catalog.bronze(QUARANTINE)
    finish_rewrite(fs, quarantine)
    if fs.exists(f"{quarantine}/_delta_log"):
        out.append(Target("rows", quarantine, quarantine[len(root) :]))
    return out + folders


def check_ready(ctx: JobContext, fs: HadoopFs, release_id: str | None, rows: dict[str, int]) -> str:
    """Raise PurgeRefused naming what is not finished; return the release id. What is
    missing is looked for first, then the row counts (kept in ``rows`` by path)."""
    cat = ctx.catalog
    linked_report = cat.link_report(".json")
    linked_tables = [cat.linked(r.source, r.kind) for r in RULES]
    missing = [t for t in linked_tables if not is_delta(ctx.spark, t)]
    if missing or not fs.exists(linked_report):
        _refuse("linkage has not finished", missing or [linked_report], "link")
    names = ["populations", "moves"] + [r.kind for r in RULES]
    missing = [cat.pseudonymised(n) for n in names if not is_delta(ctx.spark, cat.pseudonymised(n))]
    if missing:
        _refuse("pseudonymisation has not finished", missing, "pseudonymise")
    release_id, manifest = _find_release(ctx, fs, release_id)

    def count(path: str) -> int:
        if path not in rows:
            rows[path] = ctx.spark.read.format("delta").load(path).count()
        return rows[path]

    read = {
        t["table"]: t["bronze_rows"] for t in json.loads(fs.read_bytes(linked_report))["tables"]
    }
    purged = [r for r in RULES if r.source in PURGED_SOURCES]
    for rule in purged:
        bronze = cat.bronze_table(rule.source, rule.kind)
        now = count(bronze) if fs.exists(f"{bronze}/_delta_log") else read.get(rule.name)
        if now != read.get(rule.name):
            raise PurgeRefused(
                f"purge refused: {bronze} has {now:,} rows, the linkage read "
                f"{read.get(rule.name)}: a delivery came after the link; run link, "
                "pseudonymise and release again first. Nothing was destroyed"
            )
        pseudo_path = cat.pseudonymised(rule.kind)
        linked, pseudo = count(cat.linked(rule.source, rule.kind)), count(pseudo_path)
        if linked != pseudo:
            _refuse(
                "pseudonymisation has not finished",
                [f"{pseudo_path} ({pseudo:,} rows of {linked:,} linked)"],
                "pseudonymise",
            )
    made = max(_last_commit(fs, cat.pseudonymised(r.kind)) for r in purged)
    if dt.datetime.fromisoformat(manifest["created"]).timestamp() < made:
        when = dt.datetime.fromtimestamp(made, dt.UTC).isoformat(timespec="seconds")
        _refuse(
            f"release {release_id} is older than the pseudonymised tables",
            [f"a release made after {when}"],
            "release",
        )
    return release_id


def _find_release(ctx: JobContext, fs: HadoopFs, release_id: str | None) -> tuple[str, dict]:
    """The release (given, else the latest complete one) with the KSZ and VDAB tables."""
    zone = ctx.config.zone("release")
    manifests = {}
    if fs.is_dir(zone):
        for e in fs.list(zone):
            path = ctx.catalog.release_manifest(e.name)
            if e.is_dir and fs.exists(path):
                manifests[e.name] = json.loads(fs.read_bytes(path))
    if release_id is None and manifests:
        release_id = max(manifests, key=lambda r: (manifests[r].get("created", ""), r))
    if release_id not in manifests:
        wanted = ctx.catalog.release_manifest(release_id or "<release-id>")
        _refuse("no release was made", [wanted], "release")
    kinds = {r.kind for r in RULES if r.source in PURGED_SOURCES}
    wanted = {n for n, t in load_rules(ctx.config.conf_dir).tables.items() if t.source in kinds}
    lacking = sorted(wanted - set(manifests[release_id].get("tables", {})))
    if lacking:
        _refuse(f"release {release_id} lacks KSZ/VDAB tables", lacking, "release")
    return release_id, manifests[release_id]


def _last_commit(fs: HadoopFs, table: str) -> int:
    """When the table's last commit was written (seconds since the epoch)."""
    commits = [e for e in fs.list(f"{table}/_delta_log") if e.name.endswith(".json")]
    return max(e.modified for e in commits) // 1000


def _refuse(what: str, missing: list[str], stage: str) -> None:
    raise PurgeRefused(
        f"purge refused: {what}: missing {', '.join(missing)}; run {stage} (and the stages "
        "after it) first. Nothing was destroyed"
    )


def inventory(
    ctx: JobContext,
    fs: HadoopFs,
    found: list[Target],
    release_id: str,
    rows: dict[str, int] | None = None,
) -> dict:
    """Per target: rows, files with bytes and SHA-256 (no content), before destruction
    (``rows``: counts already made, by path)."""
    rows = rows if rows is not None else {}
    entries = []
    tables = [t.rel + "/" for t in found if t.kind == "table"]
    for t in found:
        if t.kind == "folder":  # what its tables (listed on their own) leave
            files = [
                (p, b)
                for p, b in _all_files(fs, t.uri)
                if not any(f"{t.rel}/{p}".startswith(x) for x in tables)
            ]
            count = None
        else:
            files = data_files(fs, t.uri)
            frame = ctx.spark.read.format("delta").load(t.uri)
            if t.kind == "rows":
                count = frame.filter(CONDITION).count()
            else:
                count = rows[t.uri] if t.uri in rows else frame.count()
        listed = [{"path": p, "bytes": b, "sha256": fs.sha256(f"{t.uri}/{p}")} for p, b in files]
        entries.append(
            {
                "path": t.rel,
                "kind": t.kind,
                "rows": count,
                "files": len(listed),
                "bytes": sum(f["bytes"] for f in listed),
                "listing": listed,
            }
        )
    return {"created": utc_now(), "release_id": release_id, "targets": entries}


def run(ctx: JobContext, release_id: str | None = None, inbox: bool = True) -> dict:
    """Destroy the KSZ and VDAB data (see the module docstring); idempotent."""
    started = time.monotonic()
    fs = HadoopFs(ctx.spark)
    state = purge_state(ctx)
    if state and state["state"] == "done":
        ctx.log.info(
            "purge: already done on %s (%s): nothing to do", state["finished"], marker_path(ctx)
        )
        return {**state, "already": True}
    found = targets(ctx, fs, inbox)
    if state is None:
        rows: dict[str, int] = {}
        release_id = check_ready(ctx, fs, release_id, rows)
        listed = inventory(ctx, fs, found, release_id, rows)
        text = json.dumps(listed, indent=1)
        name = f"audit/purge-inventory-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S%fZ}.json"
        fs.write_text(ctx.catalog.trusted(name), text)
        state = {
            "state": "started",
            "started": utc_now(),
            "release_id": release_id,
            "inventory": f"trusted/{name}",
            "inventory_sha256": _sha256(text),
            "summary": {
                e["path"]: {k: e[k] for k in ("kind", "rows", "files", "bytes")}
                for e in listed["targets"]
            },
        }
        write_state(ctx, state)
    else:
        ctx.log.info("purge: finishing the purge started on %s", state["started"])
    steps = destroy(ctx, fs, found)
    problems = verify(ctx, fs, found)
    if problems:
        raise PseudolinkError(
            "purge: not everything was destroyed: "
            + "; ".join(problems[:5])
            + f". The marker {marker_path(ctx)} stays 'started': run purge again"
        )
    state = {**state, "state": "done", "finished": utc_now(), "steps": steps}
    write_state(ctx, state)
    seconds = round(time.monotonic() - started, 1)
    for path, s in state["summary"].items():
        ctx.log.info(
            "purge: %s destroyed (%s rows, %d files, %s bytes)",
            path,
            "-" if s["rows"] is None else f"{s['rows']:,}",
            s["files"],
            f"{s['bytes']:,}",
        )
    ctx.log.info("purge: verified on disk in %.1f s; inventory %s", seconds, state["inventory"])
    ctx.audit.add(
        "purge",
        inputs=sorted(state["summary"]),
        outputs=["trusted/purge.json", state["inventory"]],
        counts=state["summary"],
        release_id=state["release_id"],
        inventory_sha256=state["inventory_sha256"],
        steps=steps,
    )
    return {**state, "already": False, "seconds": seconds}


def destroy(ctx: JobContext, fs: HadoopFs, found: list[Target]) -> dict[str, list[str]]:
    """The Delta erasure steps per table, then the folders; every step can run again."""
    steps: dict[str, list[str]] = {}
    for t in found:
        if not fs.exists(t.uri):
            continue
        if t.kind == "table":
            steps[t.rel] = erase(ctx.spark, t.uri)["steps"]
            left = data_files(fs, t.uri)
            if left:
                raise PseudolinkError(
                    f"purge: {t.uri}: {len(left)} data file(s) left after VACUUM; run purge again"
                )
            fs.delete(t.uri)
            steps[t.rel].append("folder removed (its log held column statistics)")
        elif t.kind == "rows":  # checked by verify() on the fresh table
            steps[t.rel] = erase(ctx.spark, t.uri, CONDITION)["steps"]
            rewrite_log(ctx.spark, fs, t.uri)
            steps[t.rel].append("fresh log (without the erased files' statistics)")
        else:
            fs.delete(t.uri)
            steps[t.rel] = ["removed"]
    return steps


def verify(ctx: JobContext, fs: HadoopFs, found: list[Target]) -> list[str]:
    """What is still on disk of the KSZ and VDAB data (an empty list: all gone)."""
    problems = []
    for t in found:
        if t.kind == "rows":
            rows = ctx.spark.read.format("delta").load(t.uri).filter(CONDITION).count()
            left = leftover_files(ctx.spark, fs, t.uri)
            if rows or left:
                problems.append(f"{t.rel}: {rows} KSZ/VDAB rows, {len(left)} unused files")
        elif fs.exists(t.uri):
            problems.append(f"{t.rel}: {len(_all_files(fs, t.uri))} file(s) left")
    return problems


def _all_files(fs: HadoopFs, uri: str, prefix: str = "") -> list[tuple[str, int]]:
    out: list[tuple[str, int]] = []
    for e in fs.list(uri):
        if e.is_dir:
            out += _all_files(fs, f"{uri}/{e.name}", f"{prefix}{e.name}/")
        elif not (e.name.startswith(".") and e.name.endswith(".crc")):
            out.append((f"{prefix}{e.name}", e.size))
    return sorted(out)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
