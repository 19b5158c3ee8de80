"""Opening a package on the researcher's side: verify, unwrap, decrypt, check, then place.

Order: the manifest's signature (against the sender's pinned key); the end date; the
private key against the recipients' fingerprints; the wrapped data key's size and
SHA-256, then HPKE; the payload's size, then chunk by chunk AES-GCM into a hidden folder
beside the target, every file checked against the release's own manifest (itself checked
against the signed manifest), and only then the rename to ``<out>/<release-id>``. Any
failure removes the hidden folder: nothing half-done is left. ``cryptography`` and the
standard library only, no Spark.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import tarfile
from pathlib import Path, PurePosixPath
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric import ed25519, x25519

from pseudolink.deliver.keys import fingerprint, load_signer_key
from pseudolink.deliver.package import (
    RELEASE_MANIFEST,
    SIGNER,
    SUITE,
    PackageError,
    check_file,
    payload_aad,
    read_manifest,
    wrap_info,
)
from pseudolink.deliver.stream import DecryptingReader, PayloadError


class ExpiredError(PackageError):
    """The release's end date has passed: it may no longer be opened or delivered."""


def signer_of(package: Path, pinned: Path | None) -> tuple[ed25519.Ed25519PublicKey, bool]:
    """The key to check the signature with: the pinned one, else the package's own (which
    only proves integrity, not who sent it). Returns (key, pinned?)."""
    if pinned is not None:
        return load_signer_key(pinned), True
    return load_signer_key(package / SIGNER), False


def check_not_expired(manifest: dict[str, Any], today: dt.date | None, where: Path) -> None:
    end = dt.date.fromisoformat(manifest["end_date"])
    if (today or dt.date.today()) > end:
        raise ExpiredError(
            f"{where}: release {manifest['release_id']} expired on {end.isoformat()} "
            "(retention end date): it may no longer be opened; destroy this package"
        )


def unwrap(package: Path, manifest: dict[str, Any], key: x25519.X25519PrivateKey) -> bytes:
    """The data key, with the recipient entry matching ``key``."""
    mine = fingerprint(key.public_key())
    entry = next((r for r in manifest["recipients"] if r["fingerprint"] == mine), None)
    if entry is None:
        names = ", ".join(r["id"] for r in manifest["recipients"])
        raise PackageError(
            f"{package}: this private key (fingerprint {mine[:16]}) is not one of the "
            f"package's recipients ({names}): wrong key"
        )
    check_file(package, entry)
    wrapped = (package / entry["path"]).read_bytes()
    info = wrap_info(manifest["package_id"], entry["id"])
    try:
        return SUITE.decrypt(wrapped, key, info=info)
    except InvalidTag:
        raise PackageError(
            f"{package / entry['path']}: the private key does not open it: wrong key"
        ) from None


def open_package(
    package: Path,
    key: x25519.X25519PrivateKey,
    out: Path,
    signer: Path | None = None,
    today: dt.date | None = None,
) -> dict[str, Any]:
    """Verify and decrypt ``package`` into ``out/<release-id>``; return a summary."""
    public, pinned = signer_of(package, signer)
    manifest, _ = read_manifest(package, public)
    check_not_expired(manifest, today, package)
    data_key = unwrap(package, manifest, key)
    payload = manifest["payload"]
    path = package / payload["file"]
    if not path.is_file() or path.stat().st_size != payload["bytes"]:
        raise PackageError(f"{path}: missing or not {payload['bytes']} bytes: changed or cut")
    target = out / manifest["release_id"]
    if target.exists():
        raise PackageError(f"{target}: exists; remove it or choose another --out")
    staging = out / f".{manifest['release_id']}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        files = _extract(path, data_key, manifest, staging)
        os.replace(staging / manifest["release_id"], target)
    except PayloadError as exc:
        raise PackageError(f"{path}: {exc}") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return {
        "release_id": manifest["release_id"],
        "package_id": manifest["package_id"],
        "end_date": manifest["end_date"],
        "files": files,
        "folder": str(target),
        "signer": fingerprint(public),
        "signer_pinned": pinned,
    }


def _extract(path: Path, data_key: bytes, manifest: dict[str, Any], staging: Path) -> int:
    """Decrypt and untar into ``staging``; every member checked; returns the file count."""
    payload, rid = manifest["payload"], manifest["release_id"]
    expected: dict[str, str] | None = None
    seen: set[str] = set()
    with open(path, "rb") as fh:
        reader = DecryptingReader(
            fh, data_key, payload_aad(manifest["package_id"]), payload["chunk_bytes"]
        )
        with tarfile.open(fileobj=reader, mode="r|") as tar:
            for member in tar:
                rel = _safe_name(member, rid, path)
                digest = _write_member(tar, member, staging / rid / rel)
                if expected is None:
                    expected = _release_files(staging / rid, payload, path, rel, digest)
                    continue
                if expected.get(rel) != digest:
                    raise PackageError(f"{path}: {rel} is not a file of the release, or changed")
                seen.add(rel)
        reader.finish()
    if reader.sha256.hexdigest() != payload["sha256"]:
        raise PackageError(f"{path}: SHA-256 differs from the manifest: the file was changed")
    missing = sorted(set(expected or {}) - seen)
    if expected is None or missing:
        raise PackageError(f"{path}: release files missing from the payload: {missing[:5]}")
    return len(seen)


def _safe_name(member: tarfile.TarInfo, rid: str, path: Path) -> str:
    """A member's path inside the release: a regular file under ``<release-id>/``."""
    parts = PurePosixPath(member.name).parts
    if not member.isfile() or len(parts) < 2 or parts[0] != rid or ".." in parts:
        raise PackageError(f"{path}: unexpected member {member.name!r} in the payload")
    return "/".join(parts[1:])


def _write_member(tar: tarfile.TarFile, member: tarfile.TarInfo, target: Path) -> str:
    source = tar.extractfile(member)
    assert source is not None  # a regular file (checked by _safe_name)
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    with open(target, "wb") as fh:
        for block in iter(lambda: source.read(1 << 20), b""):
            digest.update(block)
            fh.write(block)
    return digest.hexdigest()


def _release_files(
    folder: Path, payload: dict[str, Any], path: Path, rel: str, digest: str
) -> dict[str, str]:
    """The first member is the release manifest, checked against the signed manifest."""
    if rel != RELEASE_MANIFEST or digest != payload["release_manifest_sha256"]:
        raise PackageError(f"{path}: the payload does not start with the signed release manifest")
    listed = json.loads((folder / RELEASE_MANIFEST).read_bytes())["files"]
    return {f["path"]: f["sha256"] for f in listed}
