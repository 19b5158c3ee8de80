"""Deliver stage: a release, encrypted for its authorised researchers, into the outbox and
(when ``deliver.sftp`` is set) onto the SFTP server. Details: docs/deliver.md.

1. Refuse a release that is missing, incomplete, past its end date (the earliest of the
   release's own and ``retention.end_date``) or destroyed by retention, and any recipient
   key that is missing or not an X25519 public key: before anything is written.
2. Build ``outbox/<release-id>/`` (:mod:`pseudolink.deliver.package`), signed with the
   trusted third party's Ed25519 key (derived from the keystore). An existing complete
   package is checked (signature, sizes, SHA-256) and reused.
3. Upload it (:mod:`pseudolink.deliver.sftp`): pinned host key, key login, resumable,
   verified on the server; ``package.json`` last.
4. Record the delivery in ``trusted/deliveries/<release-id>.json`` (no key in it).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from pathlib import Path
from typing import Any

import paramiko

from pseudolink import audit
from pseudolink.catalog import DELIVERIES
from pseudolink.cli import JobContext
from pseudolink.deliver import package as pkg
from pseudolink.deliver.keys import load_public_key, new_key_pair, signing_key
from pseudolink.deliver.sftp import Server, SftpError, client_key, connect, pinned_key, upload
from pseudolink.deliver.unpack import ExpiredError
from pseudolink.errors import ConfigError, InputError
from pseudolink.purged import purge_state
from pseudolink.stages import keys

DEMO_ID = "demo-researcher"
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def release_manifest(ctx: JobContext, rid: str) -> dict[str, Any]:
    path = ctx.catalog.local("release") / rid / pkg.RELEASE_MANIFEST
    try:
        return json.loads(path.read_bytes())
    except FileNotFoundError:
        raise InputError(f"{path}: no complete release '{rid}' (run release first)") from None


def latest_release(ctx: JobContext) -> str:
    zone = ctx.catalog.local("release")
    found = sorted(
        (json.loads(m.read_bytes()).get("created", ""), m.parent.name)
        for m in zone.glob(f"*/{pkg.RELEASE_MANIFEST}")
    )
    if not found:
        raise InputError(f"{zone}: no complete release to deliver (run release first)")
    return found[-1][1]


def end_date(ctx: JobContext, manifest: dict[str, Any]) -> dt.date:
    """The earliest of the release's own end date and the config's (a new deliberation can
    shorten the retention, never silently lengthen a release's)."""
    dates = [ctx.config.retention.end_date]
    if manifest.get("end_date"):
        dates.append(dt.date.fromisoformat(manifest["end_date"]))
    return min(dates)


def check_deliverable(ctx: JobContext, rid: str, today: dt.date | None = None) -> dt.date:
    """Raise unless release ``rid`` exists, is complete and within its end date."""
    if not _ID.match(rid):
        raise InputError(f"--release-id '{rid}': expected letters, digits, '.', '_', '-'")
    stone = ctx.catalog.tombstone_file(rid)
    if stone.exists():
        gone = json.loads(stone.read_text())
        raise ExpiredError(
            f"release {rid} expired on {gone['end_date']} and was destroyed on "
            f"{gone['destroyed']} ({stone}): delivery refused"
        )
    end = end_date(ctx, release_manifest(ctx, rid))
    if (today or dt.date.today()) > end:
        raise ExpiredError(
            f"release {rid} expired on {end.isoformat()} (retention end date): delivery "
            "refused; ./spark-submit.sh retention destroys it"
        )
    return end


def recipients(ctx: JobContext) -> list[tuple[str, Any]]:
    """Every authorised researcher's public key, checked; the demo one if configured."""
    settings = ctx.config.deliver
    out = [
        (
            r.id,
            load_public_key(
                ctx.config.conf_dir / r.public_key,
                f"recipient '{r.id}' (deliver.recipients[{i}].public_key)",
            ),
        )
        for i, r in enumerate(settings.recipients)
    ]
    if settings.demo_recipient:
        out.append((DEMO_ID, load_public_key(demo_key_pair(ctx)[1], "the demo researcher")))
    if not out:
        raise ConfigError(
            f"{ctx.config.source}: deliver.recipients: no authorised researcher listed "
            "(id and public_key of each); a package needs at least one"
        )
    return out


def demo_key_pair(ctx: JobContext) -> tuple[Path, Path]:
    """The demo researcher's key pair under ROOT/researcher-demo/ (standing for the
    researcher's own machine), made once and announced as demo-only."""
    folder = ctx.catalog.demo_dir_file()
    private, public = folder / f"{DEMO_ID}.key", folder / f"{DEMO_ID}.pub"
    if not public.exists():
        private.unlink(missing_ok=True)
        new_key_pair(private, public)
        ctx.log.warning(
            "deliver: made a DEMO-ONLY researcher key pair in %s (the private key stands "
            "for the researcher's own machine; never for real data)",
            folder,
        )
    return private, public


def server(ctx: JobContext) -> Server | None:
    sftp = ctx.config.deliver.sftp
    if sftp is None:
        return None
    conf = ctx.config.conf_dir
    found = Server(
        sftp.host,
        sftp.port,
        sftp.username,
        conf / sftp.host_key,
        conf / sftp.client_key,
        sftp.remote_dir.rstrip("/") or ".",
        float(sftp.timeout_seconds),
    )
    pinned_key(found.host_key), client_key(found.client_key)  # readable, before any work
    return found


def run(ctx: JobContext, release_id: str | None = None) -> dict[str, Any]:
    """Package release ``release_id`` (default: the latest) and upload it if configured."""
    started = time.monotonic()
    rid = release_id or latest_release(ctx)
    end = check_deliverable(ctx, rid)
    listed, target_server = recipients(ctx), server(ctx)
    signer = signing_key(keys.open_for_run(ctx).signing_seed())
    target = ctx.catalog.local("outbox") / rid
    manifest = _package(ctx, rid, target, listed, signer, end)
    size = sum(f["bytes"] for f in pkg.file_list(manifest)) + sum(
        (target / n).stat().st_size for n in (pkg.MANIFEST, pkg.SIGNATURE)
    )
    built = round(time.monotonic() - started, 1)
    record = {
        "release_id": rid,
        "package_id": manifest["package_id"],
        "end_date": manifest["end_date"],
        "package": str(target),
        "package_bytes": size,
        "recipients": [
            {"id": r["id"], "fingerprint": r["fingerprint"]} for r in manifest["recipients"]
        ],
        "signer": manifest["signer"],
        "uploads": [],
    }
    if target_server is not None:
        record["uploads"].append(_upload(ctx, target_server, target, rid, manifest))
    path = ctx.catalog.delivery_record_file(rid)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.write_text(json.dumps(record, indent=2) + "\n")
    seconds = round(time.monotonic() - started, 1)
    ctx.log.info(
        "deliver: release %s packaged for %s in %s (%s bytes, %.1f s)%s",
        rid,
        ", ".join(r["id"] for r in record["recipients"]),
        target,
        f"{size:,}",
        built,
        f"; uploaded to {target_server.name}/{rid}" if target_server else "",
    )
    outputs = [f"outbox/{rid}", f"trusted/{DELIVERIES}/{rid}.json"]
    if target_server:
        outputs.append(f"{target_server.name}/{rid}")
    ctx.audit.add(
        "deliver",
        inputs=[f"release/{rid}"],
        outputs=outputs,
        counts={"package_bytes": size, "release_files": manifest["payload"]["release_files"]},
        release_id=rid,
        package_id=manifest["package_id"],
        recipients=record["recipients"],
        end_date=manifest["end_date"],
    )
    return {**record, "seconds": seconds, "package_seconds": built}


def _package(
    ctx: JobContext, rid: str, target: Path, listed: list, signer: Any, end: dt.date
) -> dict[str, Any]:
    """Build the package, or check and reuse a complete one for the same recipients."""
    if (target / pkg.MANIFEST).exists():
        manifest, _ = pkg.read_manifest(target, signer.public_key())
        pkg.check_files(target, manifest)
        wanted = {pkg.fingerprint(k) for _, k in listed}
        if {r["fingerprint"] for r in manifest["recipients"]} != wanted:
            raise InputError(
                f"{target}: packaged for other recipients than deliver.recipients lists: "
                + (
                    "the release's plaintext tables were destroyed by purge, so this package "
                    "is the only copy: keep it and list its recipients again"
                    if _purged_release(ctx, rid)
                    else "remove it to package again"
                )
            )
        ctx.log.info("deliver: %s exists and checks out: reused", target)
        return manifest
    if target.exists():
        raise InputError(f"{target}: exists but holds no package.json: remove it first")
    if _purged_release(ctx, rid):
        raise InputError(
            f"{target}: no package, and the plaintext tables of release {rid} were destroyed "
            f"by purge ({ctx.catalog.purge_marker()}): it can no longer be packaged"
        )
    head = _audit_head(ctx)
    extra = {"audit_head": head} if head else {}
    return pkg.build(
        ctx.catalog.local("release") / rid,
        target,
        listed,
        signer,
        end,
        ctx.config.deliver.chunk_mib << 20,
        extra,
    )


def _purged_release(ctx: JobContext, rid: str) -> bool:
    """Whether purge destroyed the plaintext tables of release ``rid`` (its manifest and
    reports stay; a corrected re-release made after the purge keeps its tables)."""
    if purge_state(ctx) is None:
        return False
    folder = ctx.catalog.local("release") / rid
    _, files = pkg.release_files(folder)
    return any(not (folder / f["path"]).exists() for f in files)


def _audit_head(ctx: JobContext) -> dict[str, Any] | None:
    try:
        return audit.AuditLog(audit.audit_folder(ctx.config)).read_head()
    except ConfigError:
        return None


def _upload(
    ctx: JobContext, target_server: Server, folder: Path, rid: str, manifest: dict
) -> dict[str, Any]:
    files = pkg.file_list(manifest) + [
        pkg.entry(folder, pkg.SIGNATURE),
        pkg.entry(folder, pkg.MANIFEST),  # last: the package is complete with it
    ]
    remote = f"{target_server.remote_dir}/{rid}"
    started = time.monotonic()
    try:
        with connect(target_server) as sftp:
            stats = upload(sftp, folder, remote, files)
    except (paramiko.SSHException, OSError, EOFError) as exc:
        raise SftpError(
            f"{target_server.name}: the upload of {rid} was interrupted ({exc}); run deliver "
            "again: it resumes where it stopped"
        ) from None
    ctx.log.info(
        "deliver: %s: %d files verified on the server (%s bytes sent%s)",
        remote,
        len(stats.verified) + len(stats.skipped),
        f"{stats.sent:,}",
        f", resumed {sorted(stats.resumed)}" if stats.resumed else "",
    )
    return {
        "server": target_server.name,
        "remote": remote,
        "finished": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "bytes_sent": stats.sent,
        "resumed": stats.resumed,
        "seconds": round(time.monotonic() - started, 1),
    }
