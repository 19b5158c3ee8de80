"""Retention stage: after a release's end date, destroy the release and its packages and
erase their data keys (crypto-shredding). Details: docs/deliver.md.

A release's end date is the earliest of its own (``end_date`` in its manifest, from
``retention.end_date`` when it was made) and the config's current ``retention.end_date``.
Past it, in this order:

1. the package's wrapped data keys (``keys/*.hpke``) are overwritten with random bytes
   and removed, in the outbox and then on the SFTP server: without them no copy of the
   payload left anywhere (a backup, a server snapshot) can be decrypted by anyone who
   does not already hold it opened; the data key itself was never stored;
2. the rest of the package (outbox, server);
3. ``release/<release-id>/`` (its Delta tables with their logs) and the release's
   working and refusal folders in ``trusted/``;
4. a tombstone ``trusted/retention/<release-id>.json`` (what, when; no data) that makes
   ``deliver`` refuse the release for good; ``decrypt`` refuses it by the end date the
   package carries.
A server that cannot be reached leaves its copy listed as pending in the tombstone and
the job fails (exit 2) after the local destruction; a rerun finishes it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from pathlib import Path
from typing import Any

import paramiko

from pseudolink.catalog import DELIVERIES, TOMBSTONES
from pseudolink.cli import JobContext
from pseudolink.config import uri_to_local_path
from pseudolink.deliver import package as pkg
from pseudolink.deliver.sftp import Server, SftpError, connect, remove
from pseudolink.stages.deliver import end_date, server


def candidates(ctx: JobContext) -> dict[str, dict[str, Any]]:
    """Every release id with something left (a release, a package, a delivery record, a
    pending tombstone), with the end date it carries."""
    found: dict[str, dict[str, Any]] = {}
    sources = [
        (ctx.catalog.local("release"), f"*/{pkg.RELEASE_MANIFEST}", "end_date"),
        (ctx.catalog.local("outbox"), f"*/{pkg.MANIFEST}", "end_date"),
        (ctx.catalog.local("trusted") / DELIVERIES, "*.json", "end_date"),
    ]
    for folder, pattern, key in sources:
        for path in folder.glob(pattern):
            rid = (
                path.parent.name if path.name in (pkg.RELEASE_MANIFEST, pkg.MANIFEST) else path.stem
            )
            data = json.loads(path.read_bytes())
            if data.get("state") == "destroyed":
                continue
            found.setdefault(rid, {})
            if data.get(key):
                found[rid].setdefault("dates", []).append(data[key])
    for stone in (ctx.catalog.local("trusted") / TOMBSTONES).glob("*.json"):
        if json.loads(stone.read_bytes()).get("remote") == "pending":
            found.setdefault(stone.stem, {})["pending"] = True
    return found


def run(ctx: JobContext, today: dt.date | None = None) -> dict[str, Any]:
    """Destroy every release past its end date; returns what was destroyed."""
    today = today or dt.date.today()
    target = server(ctx)  # its key files readable before anything is destroyed
    destroyed, kept, pending = [], {}, []
    for rid, info in sorted(candidates(ctx).items()):
        dates = info.get("dates", [])
        end = end_date(ctx, {"end_date": min(dates)} if dates else {})
        if today <= end and not info.get("pending"):
            kept[rid] = end.isoformat()
            continue
        done = destroy(ctx, rid, end, target)
        destroyed.append(done)
        if done["remote"] == "pending":
            pending.append(rid)
    for done in destroyed:
        ctx.log.info(
            "retention: release %s (end date %s) destroyed: %s; server copy: %s",
            done["release_id"],
            done["end_date"],
            ", ".join(done["what"]) or "nothing left",
            done["remote"],
        )
    for rid, end in kept.items():
        ctx.log.info("retention: release %s kept until %s", rid, end)
    ctx.audit.add(
        "retention",
        inputs=[f"release/{d['release_id']}" for d in destroyed],
        outputs=[f"trusted/retention/{d['release_id']}.json" for d in destroyed],
        counts={"destroyed": len(destroyed), "kept": len(kept)},
        destroyed={d["release_id"]: d["what"] for d in destroyed},
        kept=kept,
    )
    if pending:
        raise SftpError(
            f"retention: the server copies of {', '.join(pending)} could not be removed "
            "(the local copies are destroyed): run retention again when the server is reachable"
        )
    return {"destroyed": destroyed, "kept": kept}


def destroy(ctx: JobContext, rid: str, end: dt.date, target: Server | None) -> dict[str, Any]:
    """Crypto-shred and remove one release everywhere the trusted third party holds it."""
    what: list[str] = []
    package = ctx.catalog.local("outbox") / rid
    for folder in (package, package.with_name(f".{rid}.partial")):
        shredded = shred_keys(folder)
        if shredded:
            what.append(f"{shredded} wrapped data key(s) overwritten in {folder.name}")
        if folder.exists():
            shutil.rmtree(folder)
            what.append(f"outbox/{folder.name}")
    remote = _remove_remote(ctx, rid, target)
    for folder in (
        ctx.catalog.local("release") / rid,
        uri_to_local_path(ctx.catalog.release_work(rid)),
        uri_to_local_path(ctx.catalog.refused(rid)),
    ):
        if folder.exists():
            shutil.rmtree(folder)
            what.append(str(folder.relative_to(uri_to_local_path(ctx.config.root))))
    record = ctx.catalog.delivery_record_file(rid)
    if record.exists():
        state = json.loads(record.read_text())
        record.write_text(json.dumps({**state, "state": "destroyed"}, indent=2) + "\n")
    stone = {
        "release_id": rid,
        "end_date": end.isoformat(),
        "destroyed": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "what": what,
        "remote": remote,
    }
    path = ctx.catalog.tombstone_file(rid)
    if path.exists():  # a rerun for a server copy left pending
        stone["what"] = json.loads(path.read_text())["what"] + what
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.write_text(json.dumps(stone, indent=2) + "\n")
    return stone


def shred_keys(folder: Path) -> int:
    """Overwrite every wrapped data key with random bytes (synced), then remove it."""
    count = 0
    for path in sorted((folder / pkg.KEYS).glob("*")):
        size = path.stat().st_size
        with open(path, "r+b") as fh:
            fh.write(os.urandom(size))
            fh.flush()
            os.fsync(fh.fileno())
        path.unlink()
        count += 1
    return count


def _remove_remote(ctx: JobContext, rid: str, target: Server | None) -> str:
    """'done', 'none' (no server configured) or 'pending' (the server cannot be reached)."""
    if target is None:
        return "none"
    remote = f"{target.remote_dir}/{rid}"
    try:
        with connect(target) as sftp:
            keys = [f"{pkg.KEYS}/{name}" for name in _listing(sftp, f"{remote}/{pkg.KEYS}")]
            removed = remove(sftp, remote, keys)
    except (SftpError, paramiko.SSHException, OSError, EOFError) as exc:
        ctx.log.error("retention: %s: %s", remote, exc)
        return "pending"
    ctx.log.info("retention: %s: %d files removed from the server, keys first", remote, removed)
    return "done"


def _listing(sftp: paramiko.SFTPClient, path: str) -> list[str]:
    try:
        return sorted(sftp.listdir(path))
    except FileNotFoundError:
        return []
