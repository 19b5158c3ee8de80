"""Purge stage: destroy the KSZ and VDAB data once they are linked, pseudonymised, released
and delivered (deliberation 26/050, footnote 1, nrs. 8 and 26: Statbel uses them only to link
and pseudonymise, keeps the pseudonymisation key and destroys the administrations' data).
Details: docs/purge.md.

1. Refuse unless the linkage read every bronze KSZ and VDAB row, every linked table is
   pseudonymised row for row, a complete release was made from the pseudonymised tables,
   and its encrypted package is complete in ``outbox/<release-id>/`` (signed manifest,
   every part with its size and SHA-256, made from this very release; uploaded too when
   ``deliver.sftp`` is set): the message names what is missing; nothing is touched then.
2. Inventory what will be destroyed (per table or folder: rows, files, bytes, SHA-256 of
   every file) into ``trusted/audit/purge-inventory-<time>.json``.
3. The marker ``trusted/purge.json`` says ``started``: from here on the stages that need
   the data refuse, and a rerun of purge finishes the work.
4. Per Delta table of ``bronze/{ksz,vdab}``, ``trusted/linked/{ksz,vdab}``,
   ``trusted/pseudonymised/{ksz_quarterly,vdab_*}``, every table of the plaintext release
   copies ``release/<id>/`` and of ``trusted/release_work/``: DELETE, REORG ... APPLY
   (PURGE) when deletion vectors are on, VACUUM RETAIN 0 HOURS, a check that no data file
   is left, then the folder (its log still holds column statistics). The KSZ and VDAB
   rows of ``bronze/_quarantine`` get the same steps, then a fresh log. ``inbox/ksz``,
   ``inbox/vdab`` and the extraction request ``outbox/requests/`` (every population
   member's INSZ, consumed once KSZ and VDAB delivered) are removed.
5. Verify on disk; the marker says ``done``; a log line per table or folder (rows, files,
   bytes) and the audit event with the counts and the inventory's hash.
Kept: Statbel's bronze tables, inbox and quarantine rows, the populations, Statbel's
pseudonymised tables, the key tables and keystore, the release's reports (its manifest,
``scra/`` and ``dictionary.md``: counts and descriptions, no row), the audit log and the
encrypted packages in ``outbox/``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from pseudolink.catalog import DELIVERIES, LINKED, QUARANTINE, RELEASE_WORK, REQUESTS
from pseudolink.cli import JobContext
from pseudolink.deliver import package as pkg
from pseudolink.deliver.keys import fingerprint
from pseudolink.erasure import data_files, erase, finish_rewrite, leftover_files, rewrite_log
from pseudolink.errors import PseudolinkError
from pseudolink.link.rules import RULES
from pseudolink.purged import (
    PURGED_SOURCES,
    PURGED_TABLES,
    marker_path,
    purge_state,
    write_state,
)
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
    """What purge destroys, found on disk: the Delta tables first, then the KSZ and VDAB
    rows of the quarantine, then the folders (those that held the tables, the deliveries,
    the extraction request, an incomplete release)."""
    root = ctx.config.root.rstrip("/") + "/"
    cat = ctx.catalog
    tables: list[Target] = []
    folders: list[Target] = []

    def table(uri: str) -> None:
        tables.append(Target("table", uri, uri[len(root) :]))

    def folder(uri: str) -> None:
        folders.append(Target("folder", uri, uri[len(root) :]))

    def tables_in(base: str) -> None:
        for e in fs.list(base):
            if e.is_dir and fs.exists(f"{base}/{e.name}/_delta_log"):
                table(f"{base}/{e.name}")

    for source in PURGED_SOURCES:
        for zone in (ctx.config.zone("bronze"), cat.trusted(LINKED)):
            base = f"{zone}/{source}"
            if fs.is_dir(base):
                tables_in(base)
                folder(base)
        if inbox and fs.exists(f"{ctx.config.zone('inbox')}/{source}"):
            folder(f"{ctx.config.zone('inbox')}/{source}")
    for name in PURGED_TABLES:
        if fs.exists(f"{cat.pseudonymised(name)}/_delta_log"):
            table(cat.pseudonymised(name))
    # The plaintext copies of the releases (every one is made from the KSZ and VDAB data);
    # a complete release keeps its manifest, scra/ and dictionary.md (counts, no rows).
    for base in (ctx.config.zone("release"), cat.trusted(RELEASE_WORK)):
        if not fs.is_dir(base):
            continue
        for e in fs.list(base):
            if e.is_dir:
                tables_in(f"{base}/{e.name}")
                if base.endswith(RELEASE_WORK) or not fs.exists(cat.release_manifest(e.name)):
                    folder(f"{base}/{e.name}")  # a release in the making, or incomplete
    requests = f"{ctx.config.zone('outbox')}/{REQUESTS}"
    if fs.exists(requests):
        folder(requests)
    out = tables
    quarantine = cat.bronze(QUARANTINE)
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
    check_delivered(ctx, fs, release_id)
    return release_id


def check_delivered(ctx: JobContext, fs: HadoopFs, release_id: str) -> None:
    """Refuse unless the encrypted package of ``release_id`` (and of every other release
    whose plaintext tables are still on disk: purge destroys them all) is complete in
    ``outbox/<id>/``, and uploaded when ``deliver.sftp`` is set: after the purge it is the
    only copy of the released data."""
    zone = ctx.config.zone("release")
    others = [
        e.name
        for e in (fs.list(zone) if fs.is_dir(zone) else [])
        if e.is_dir
        and e.name != release_id
        and fs.exists(ctx.catalog.release_manifest(e.name))
        and any(
            fs.exists(f"{zone}/{e.name}/{t.name}/_delta_log") for t in fs.list(f"{zone}/{e.name}")
        )
    ]
    for rid in [release_id, *sorted(others)]:
        problem = package_problem(ctx, fs, rid)
        if problem:
            raise PurgeRefused(
                f"purge refused: release {rid} is not delivered: {problem}; run deliver "
                f"--release-id {rid} first (purge destroys the plaintext release: its "
                "encrypted package must be complete). Nothing was destroyed"
            )


def package_problem(ctx: JobContext, fs: HadoopFs, rid: str) -> str | None:
    """What is wrong with the package of release ``rid`` in the outbox (None: complete).
    Complete (stages/deliver.py, deliver/package.py): ``package.json`` signed by the key in
    ``signer.pub`` (``package.sig``), every part (payload, wrapped keys, signer key) with
    the manifest's size and SHA-256, made from this release (its manifest's SHA-256); and,
    with ``deliver.sftp`` set, the delivery record lists its upload."""
    folder = ctx.catalog.local("outbox") / rid
    if not (folder / pkg.MANIFEST).is_file():
        return f"missing {folder / pkg.MANIFEST}"
    try:
        signer = serialization.load_pem_public_key((folder / pkg.SIGNER).read_bytes())
        if not isinstance(signer, ed25519.Ed25519PublicKey):
            return f"{folder / pkg.SIGNER}: not an Ed25519 public key"
        manifest, _ = pkg.read_manifest(folder, signer)
        if manifest.get("signer", {}).get("fingerprint") != fingerprint(signer):
            return f"{folder / pkg.SIGNER}: not the key the manifest names"
        pkg.check_files(folder, manifest)
    except (OSError, ValueError, KeyError, TypeError, pkg.PackageError) as exc:
        return f"{folder} is incomplete or changed ({exc})"
    released = fs.read_bytes(ctx.catalog.release_manifest(rid))
    if (
        manifest.get("release_id") != rid
        or manifest["payload"].get("release_manifest_sha256")
        != hashlib.sha256(released).hexdigest()
    ):
        return f"{folder / pkg.MANIFEST} was not made from release/{rid} as it is now"
    if ctx.config.deliver.sftp is not None:
        record = ctx.catalog.delivery_record_file(rid)
        uploads = json.loads(record.read_text()).get("uploads", []) if record.exists() else []
        done = json.loads(record.read_text()).get("package_id") if record.exists() else None
        if not uploads or done != manifest["package_id"]:
            return (
                f"packaged but not uploaded to {ctx.config.deliver.sftp.host} "
                f"(trusted/{DELIVERIES}/{rid}.json lists no upload of package "
                f"{manifest['package_id'][:12]})"
            )
    return None


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
        return {**state, "already": True, "totals": totals_of(state["summary"])}
    if state is None:
        rows: dict[str, int] = {}
        release_id = check_ready(ctx, fs, release_id, rows)
        found = targets(ctx, fs, inbox)
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
        found = targets(ctx, fs, inbox)
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
            "purge: %s destroyed (%s: %s rows, %d files, %s bytes)",
            path,
            "KSZ/VDAB rows" if s["kind"] == "rows" else s["kind"],
            "-" if s["rows"] is None else f"{s['rows']:,}",
            s["files"],
            f"{s['bytes']:,}",
        )
    totals = totals_of(state["summary"])
    ctx.log.info(
        "purge: destroyed %d Delta tables (%s rows), %s files (%s bytes), verified on disk "
        "in %.1f s; inventory %s. Kept: Statbel's data, the populations, the key tables and "
        "keystore, Statbel's pseudonymised tables, the release's reports, the audit log and "
        "the encrypted package outbox/%s",
        totals["tables"],
        f"{totals['rows']:,}",
        f"{totals['files']:,}",
        f"{totals['bytes']:,}",
        seconds,
        state["inventory"],
        state["release_id"],
    )
    ctx.audit.add(
        "purge",
        inputs=sorted(state["summary"]),
        outputs=["trusted/purge.json", state["inventory"]],
        counts={**state["summary"], "total": totals},
        release_id=state["release_id"],
        inventory_sha256=state["inventory_sha256"],
        steps=steps,
    )
    return {**state, "already": False, "seconds": seconds, "totals": totals}


def totals_of(summary: dict[str, dict]) -> dict[str, int]:
    """Tables, rows, files and bytes destroyed, over a purge's per-target summary."""
    return {
        "tables": sum(1 for s in summary.values() if s["kind"] == "table"),
        "rows": sum(s["rows"] or 0 for s in summary.values()),
        "files": sum(s["files"] for s in summary.values()),
        "bytes": sum(s["bytes"] for s in summary.values()),
    }


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
