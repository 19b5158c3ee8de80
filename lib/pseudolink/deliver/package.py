"""A delivery package: a release encrypted for its researchers, with a signed manifest.

Layout of ``<release-id>/`` (docs/deliver.md):

- ``payload.enc``: the release's files as one tar stream (the release's own manifest
  first), encrypted with AES-256-GCM under a fresh random 256-bit data key, in chunks
  (:mod:`pseudolink.deliver.stream`);
- ``keys/<recipient>.hpke``: the data key wrapped for each researcher's X25519 public
  key with HPKE (RFC 9180, base mode: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256,
  AES-256-GCM), the ``info`` naming the package and the recipient;
- ``signer.pub``: the sender's Ed25519 public key (to be pinned by the researcher);
- ``package.sig``: the Ed25519 signature of ``package.json``;
- ``package.json``: the manifest, written last: ids, end date, every file's size and
  SHA-256, the recipients' key fingerprints, the release manifest's SHA-256.

The data key exists in the clear only in memory. A byte changed anywhere is found: the
manifest by its signature, every other file by its SHA-256 in the manifest (and the
payload's chunks and the wrapped keys by their AEAD tags too).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import tarfile
import uuid
from pathlib import Path
from typing import Any, BinaryIO

from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric import ed25519, x25519

from pseudolink.deliver.keys import fingerprint, public_pem
from pseudolink.deliver.stream import EncryptingWriter
from pseudolink.errors import PseudolinkError

FORMAT = "pseudolink-package"
VERSION = 1
MANIFEST = "package.json"
SIGNATURE = "package.sig"
SIGNER = "signer.pub"
PAYLOAD = "payload.enc"
KEYS = "keys"
RELEASE_MANIFEST = "manifest.json"
DATA_KEY_BYTES = 32
SUITE = hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)
WRAPPING = {
    "scheme": "HPKE (RFC 9180) base mode",
    "kem": "DHKEM(X25519, HKDF-SHA256)",
    "kdf": "HKDF-SHA256",
    "aead": "AES-256-GCM",
}


class PackageError(PseudolinkError):
    """A package is incomplete, changed, not for this key, or expired."""


def payload_aad(package_id: str) -> bytes:
    return f"{FORMAT}/{VERSION}|payload|{package_id}".encode()


def wrap_info(package_id: str, recipient: str) -> bytes:
    return f"{FORMAT}/{VERSION}|data-key|{package_id}|{recipient}".encode()


class _Hashing:
    """Reads a file for tarfile and hashes what it read."""

    def __init__(self, fh: BinaryIO) -> None:
        self.fh, self.sha256 = fh, hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.fh.read(size)
        self.sha256.update(data)
        return data


def release_files(release: Path) -> tuple[bytes, list[dict[str, Any]]]:
    """The release's manifest bytes and the files it lists (path, bytes, sha256)."""
    path = release / RELEASE_MANIFEST
    try:
        raw = path.read_bytes()
        files = json.loads(raw)["files"]
    except FileNotFoundError:
        raise PackageError(f"{path}: no release manifest: not a complete release") from None
    except (ValueError, KeyError, TypeError):
        raise PackageError(f"{path}: not a release manifest (a 'files' list expected)") from None
    return raw, files


def _write_payload(release: Path, out: Path, key: bytes, package_id: str, chunk: int) -> dict:
    """Tar the release (its manifest first, then every listed file, each checked against
    its SHA-256) into the encrypted payload."""
    raw, files = release_files(release)
    with open(out, "wb") as fh:
        writer = EncryptingWriter(fh, key, payload_aad(package_id), chunk)
        with tarfile.open(fileobj=writer, mode="w|", format=tarfile.PAX_FORMAT) as tar:
            _add(tar, release / RELEASE_MANIFEST, f"{release.name}/{RELEASE_MANIFEST}", None)
            for f in files:
                _add(tar, release / f["path"], f"{release.name}/{f['path']}", f["sha256"])
        writer.close()
        fh.flush()
        os.fsync(fh.fileno())
    return {
        "file": PAYLOAD,
        "cipher": "AES-256-GCM",
        "chunk_bytes": chunk,
        "plaintext_bytes": writer.plain_bytes,
        "bytes": writer.cipher_bytes,
        "sha256": writer.sha256.hexdigest(),
        "release_files": len(files),
        "release_manifest_sha256": hashlib.sha256(raw).hexdigest(),
    }


def _add(tar: tarfile.TarFile, path: Path, name: str, sha256: str | None) -> None:
    info = tarfile.TarInfo(name)
    try:
        info.size = path.stat().st_size
        with open(path, "rb") as fh:
            reader = _Hashing(fh)
            tar.addfile(info, reader)
    except FileNotFoundError:
        raise PackageError(f"{path}: listed in the release manifest but missing") from None
    if sha256 is not None and reader.sha256.hexdigest() != sha256:
        raise PackageError(f"{path}: changed since the release was made (SHA-256 differs)")


def build(
    release: Path,
    target: Path,
    recipients: list[tuple[str, x25519.X25519PublicKey]],
    signer: ed25519.Ed25519PrivateKey,
    end_date: dt.date,
    chunk_bytes: int,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Write the package of ``release`` to ``target`` (a folder that must not exist):
    built in a hidden folder beside it and renamed when complete."""
    if not recipients:
        raise PackageError("a package needs at least one recipient")
    staging = target.with_name(f".{target.name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    (staging / KEYS).mkdir(parents=True)
    try:
        package_id = uuid.uuid4().hex
        data_key = os.urandom(DATA_KEY_BYTES)
        payload = _write_payload(release, staging / PAYLOAD, data_key, package_id, chunk_bytes)
        listed = []
        for rid, public in recipients:
            wrapped = SUITE.encrypt(data_key, public, info=wrap_info(package_id, rid))
            rel = f"{KEYS}/{rid}.hpke"
            (staging / rel).write_bytes(wrapped)
            listed.append({"id": rid, "fingerprint": fingerprint(public), **entry(staging, rel)})
        del data_key
        (staging / SIGNER).write_bytes(public_pem(signer.public_key()))
        manifest = {
            "format": FORMAT,
            "version": VERSION,
            "package_id": package_id,
            "release_id": release.name,
            "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "end_date": end_date.isoformat(),
            "signer": {"algorithm": "Ed25519", "fingerprint": fingerprint(signer.public_key())},
            "payload": payload,
            "key_wrapping": WRAPPING,
            "recipients": listed,
            "files": [entry(staging, SIGNER)],
            **(extra or {}),
        }
        raw = (json.dumps(manifest, indent=2) + "\n").encode("utf-8")
        (staging / SIGNATURE).write_bytes(signer.sign(raw))
        (staging / MANIFEST).write_bytes(raw)  # last: a package is complete with it
        os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return manifest


def entry(folder: Path, rel: str) -> dict[str, Any]:
    data = (folder / rel).read_bytes()
    return {"path": rel, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def file_list(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """Every file of a package with size and SHA-256, the manifest's own two last."""
    payload = manifest["payload"]
    out = [{"path": payload["file"], "bytes": payload["bytes"], "sha256": payload["sha256"]}]
    out += [{k: r[k] for k in ("path", "bytes", "sha256")} for r in manifest["recipients"]]
    return out + list(manifest["files"])


def read_manifest(package: Path, signer: ed25519.Ed25519PublicKey) -> tuple[dict[str, Any], bytes]:
    """The manifest, its signature checked against ``signer``."""
    from cryptography.exceptions import InvalidSignature

    try:
        raw = (package / MANIFEST).read_bytes()
        signature = (package / SIGNATURE).read_bytes()
    except FileNotFoundError as exc:
        raise PackageError(
            f"{package}: {Path(exc.filename).name} missing: not a complete package"
        ) from None
    try:
        signer.verify(signature, raw)
    except InvalidSignature:
        raise PackageError(
            f"{package / MANIFEST}: the signature does not verify: the manifest or its "
            f"signature was changed, or it was not signed by key {fingerprint(signer)[:16]}"
        ) from None
    manifest = json.loads(raw)
    if manifest.get("format") != FORMAT or manifest.get("version") != VERSION:
        raise PackageError(f"{package / MANIFEST}: not a {FORMAT} version {VERSION} manifest")
    return manifest, raw


def check_files(package: Path, manifest: dict[str, Any]) -> None:
    """Every file present with the manifest's size and SHA-256 (a changed byte is found)."""
    for f in file_list(manifest):
        check_file(package, f)


def check_file(package: Path, entry: dict[str, Any]) -> None:
    path = package / entry["path"]
    if not path.is_file():
        raise PackageError(f"{path}: missing from the package")
    if path.stat().st_size != entry["bytes"]:
        raise PackageError(
            f"{path}: {path.stat().st_size} bytes, the manifest says {entry['bytes']}: changed"
        )
    if _sha256_file(path) != entry["sha256"]:
        raise PackageError(f"{path}: SHA-256 differs from the manifest: the file was changed")


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
