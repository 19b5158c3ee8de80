"""deliver, decrypt and retention on a small hand-built release (no SFTP here: see
test_sftp.py): the package opens to the exact release; every bad input gets a clear
error and leaves nothing half-done."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import tiny_root
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from shared import PASSPHRASE

from pseudolink.catalog import DEMO_DIR
from pseudolink.config import RecipientSettings, RetentionSettings
from pseudolink.deliver import package as pkg
from pseudolink.deliver.keys import load_private_key, new_key_pair
from pseudolink.deliver.unpack import ExpiredError, open_package
from pseudolink.errors import ConfigError, InputError
from pseudolink.stages import deliver, retention

RID = tiny_root.RID
MARK = "only-in-the-release"  # a string of the release's dictionary, never in a package


@pytest.fixture(scope="module")
def template(spark, tmp_path_factory):
    root = tmp_path_factory.mktemp("release") / "root"
    tiny_root.release(spark, root / "release" / RID)
    (root / "release" / RID / "dictionary.md").write_text(f"# dictionary {MARK}\n")
    tiny_root.write_manifest(root / "release" / RID, "2033-11-30")
    return root


@pytest.fixture
def root(template, tmp_path, monkeypatch):
    monkeypatch.setenv("PSEUDOLINK_PASSPHRASE", PASSPHRASE)
    return tiny_root.copy(template, tmp_path / "root")


def context(repo, root, spark, **deliver_settings):
    from pseudolink.config import load_config

    base = load_config(repo / "conf" / "local.yaml").deliver
    return tiny_root.context(repo, root, spark, deliver=replace(base, **deliver_settings))


def release_files(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in folder.rglob("*")
        if p.is_file() and not p.name.endswith(".crc")
    }


@pytest.fixture
def delivered(root, repo, spark):
    ctx = context(repo, root, spark)
    return ctx, deliver.run(ctx, RID)


def test_a_package_opens_to_exactly_the_release_and_holds_nothing_in_the_clear(
    delivered, root, tmp_path
):
    ctx, done = delivered
    package = root / "outbox" / RID
    assert sorted(p.name for p in package.iterdir()) == [
        "keys",
        "package.json",
        "package.sig",
        "payload.enc",
        "signer.pub",
    ]
    assert [r["id"] for r in done["recipients"]] == [deliver.DEMO_ID]
    assert tiny_root.files_containing(package, MARK) == []
    assert done["package_bytes"] == sum(p.stat().st_size for p in package.rglob("*") if p.is_file())
    key = load_private_key(root / DEMO_DIR / f"{deliver.DEMO_ID}.key")
    opened = open_package(package, key, tmp_path / "out", package / "signer.pub")
    release = root / "release" / RID
    listed = json.loads((release / "manifest.json").read_text())["files"]
    assert opened["files"] == len(listed) > 10
    got = release_files(tmp_path / "out" / RID)
    assert got == {k: v for k, v in release_files(release).items() if k in got}
    assert set(got) == {f["path"] for f in listed} | {"manifest.json"}
    record = json.loads((root / "trusted" / "deliveries" / f"{RID}.json").read_text())
    assert record["package_id"] == done["package_id"] and record["uploads"] == []
    assert PASSPHRASE not in json.dumps(record)
    (note,) = ctx.audit.stages
    assert note["stage"] == "deliver" and note["counts"]["package_bytes"] == done["package_bytes"]
    again = deliver.run(ctx, RID)  # a complete package is checked and reused
    assert again["package_id"] == done["package_id"]


def test_the_researcher_command_needs_no_spark(delivered, root, tmp_path, repo):
    package, key = root / "outbox" / RID, root / DEMO_DIR / f"{deliver.DEMO_ID}.key"
    code = (
        "import sys, runpy; sys.modules['pyspark'] = None; sys.modules['paramiko'] = None; "
        "sys.argv = sys.argv[1:]; "
        "runpy.run_module('pseudolink.deliver.decrypt', run_name='__main__')"
    )
    args = [str(package), "--key", str(key), "--out", str(tmp_path / "out")]
    env = {**os.environ, "PYTHONPATH": str(repo / "lib")}
    result = subprocess.run(
        [sys.executable, "-c", code, "decrypt", *args, "--signer-key", str(package / "signer.pub")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert f"release {RID}:" in result.stdout and "keep until 2033-11-30" in result.stdout
    assert (tmp_path / "out" / RID / "dictionary.md").read_text().endswith(f"{MARK}\n")
    again = subprocess.run(
        [sys.executable, "-c", code, "decrypt", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert again.returncode == 2 and "exists; remove it" in again.stderr
    assert "Traceback" not in again.stderr


@pytest.mark.parametrize(
    "change",
    ["payload.enc", "keys/demo-researcher.hpke", "package.json", "package.sig"],
)
def test_a_package_changed_by_one_byte_is_refused_and_nothing_is_written(
    delivered, root, tmp_path, change
):
    package = root / "outbox" / RID
    path = package / change
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    key = load_private_key(root / DEMO_DIR / f"{deliver.DEMO_ID}.key")
    with pytest.raises(pkg.PackageError) as refused:
        open_package(package, key, tmp_path / "out", package / "signer.pub")
    message = str(refused.value)
    assert any(w in message for w in ("changed", "does not verify", "wrong key")), message
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []


def test_the_wrong_private_key_is_refused(delivered, root, tmp_path):
    new_key_pair(tmp_path / "other.key", tmp_path / "other.pub")
    package = root / "outbox" / RID
    with pytest.raises(pkg.PackageError, match="not one of the package's recipients"):
        open_package(package, load_private_key(tmp_path / "other.key"), tmp_path / "out")
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []


def test_a_substituted_signer_key_is_refused(delivered, root, tmp_path):
    package = root / "outbox" / RID
    other = tmp_path / "signer.pub"
    from cryptography.hazmat.primitives.asymmetric import ed25519

    other.write_bytes(
        ed25519.Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    key = load_private_key(root / DEMO_DIR / f"{deliver.DEMO_ID}.key")
    with pytest.raises(pkg.PackageError, match="signature does not verify"):
        open_package(package, key, tmp_path / "out", other)


def test_recipient_keys_missing_or_malformed_are_refused_before_anything_is_written(
    root, repo, spark, tmp_path
):
    rsa_pub = tmp_path / "rsa.pub"
    rsa_pub.write_bytes(
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    garbage = tmp_path / "garbage.pub"
    garbage.write_text("-----BEGIN PUBLIC KEY-----\nnot base64 at all\n-----END PUBLIC KEY-----\n")
    new_key_pair(tmp_path / "r.key", tmp_path / "r.pub")
    cases = [
        (tmp_path / "missing.pub", "public key file not found"),
        (garbage, "not a PEM public key"),
        (rsa_pub, "an X25519 public key is expected"),
        (tmp_path / "r.key", "holds a PRIVATE key"),
    ]
    for path, expected in cases:
        ctx = context(repo, root, spark, recipients=[RecipientSettings("respond-1", str(path))])
        with pytest.raises(InputError) as refused:
            deliver.run(ctx, RID)
        assert expected in str(refused.value) and str(path) in str(refused.value)
        assert "recipient 'respond-1' (deliver.recipients[0].public_key)" in str(refused.value)
        assert not (root / "outbox").exists() and not (root / "trusted" / "deliveries").exists()
    ctx = context(repo, root, spark, demo_recipient=False)
    with pytest.raises(ConfigError, match="deliver.recipients: no authorised researcher"):
        deliver.run(ctx, RID)


def test_an_encrypted_researcher_key_and_two_recipients(root, repo, spark, tmp_path, monkeypatch):
    monkeypatch.setenv("PSEUDOLINK_KEY_PASSPHRASE", "researcher passphrase")
    new_key_pair(tmp_path / "a.key", tmp_path / "a.pub")
    monkeypatch.delenv("PSEUDOLINK_KEY_PASSPHRASE")
    new_key_pair(tmp_path / "b.key", tmp_path / "b.pub")
    assert b"ENCRYPTED" in (tmp_path / "a.key").read_bytes()
    assert oct((tmp_path / "a.key").stat().st_mode & 0o777) == "0o600"
    listed = [
        RecipientSettings("a", str(tmp_path / "a.pub")),
        RecipientSettings("b", str(tmp_path / "b.pub")),
    ]
    ctx = context(repo, root, spark, recipients=listed, demo_recipient=False)
    deliver.run(ctx, RID)
    package = root / "outbox" / RID
    with pytest.raises(InputError, match="encrypted: set PSEUDOLINK_KEY_PASSPHRASE"):
        load_private_key(tmp_path / "a.key")
    monkeypatch.setenv("PSEUDOLINK_KEY_PASSPHRASE", "researcher passphrase")
    open_package(package, load_private_key(tmp_path / "a.key"), tmp_path / "out-a")
    monkeypatch.delenv("PSEUDOLINK_KEY_PASSPHRASE")
    open_package(package, load_private_key(tmp_path / "b.key"), tmp_path / "out-b")
    assert release_files(tmp_path / "out-a") == release_files(tmp_path / "out-b")


def test_an_expired_release_is_refused_then_destroyed_by_retention(
    delivered, root, repo, spark, tmp_path
):
    ctx, done = delivered
    package = root / "outbox" / RID
    key = load_private_key(root / DEMO_DIR / f"{deliver.DEMO_ID}.key")
    with pytest.raises(ExpiredError, match="expired on 2033-11-30"):
        open_package(package, key, tmp_path / "out", today=dt.date(2033, 12, 1))
    assert not (tmp_path / "out" / RID).exists()
    kept = retention.run(ctx)
    assert kept["destroyed"] == [] and kept["kept"] == {RID: "2033-11-30"}
    past = replace(
        ctx, config=replace(ctx.config, retention=RetentionSettings(dt.date(2026, 1, 1)))
    )
    past.__dict__["spark"] = spark
    with pytest.raises(ExpiredError, match=f"release {RID} expired on 2026-01-01"):
        deliver.run(past, RID)
    wrapped = package / "keys" / f"{deliver.DEMO_ID}.hpke"
    before = wrapped.read_bytes()
    os.link(wrapped, tmp_path / "second-name")  # the same file, to see it after unlink
    gone = retention.run(past)
    after = (tmp_path / "second-name").read_bytes()
    assert len(after) == len(before) and after != before  # overwritten in place, then removed
    (stone,) = gone["destroyed"]
    assert stone["release_id"] == RID and stone["remote"] == "none"
    assert not package.exists() and not (root / "release" / RID).exists()
    assert (root / "trusted" / "retention" / f"{RID}.json").exists()
    with pytest.raises(ExpiredError, match="was destroyed on"):
        deliver.run(ctx, RID)  # even under the old end date
    assert retention.run(past)["destroyed"] == []


def test_after_a_purge_the_package_is_reused_and_never_made_again(delivered, root):
    """purge runs after deliver and destroys the plaintext release (docs/purge.md): the
    package is then the only copy; deliver reuses it, and without it says so clearly."""
    ctx, done = delivered
    for table in tiny_root.TABLES:
        shutil.rmtree(root / "release" / RID / table)
    marker = {"state": "done", "finished": "2026-01-01T00:00:00+00:00", "release_id": RID}
    (root / "trusted" / "purge.json").write_text(json.dumps(marker))
    assert deliver.run(ctx, RID)["package_id"] == done["package_id"]
    shutil.rmtree(root / "outbox" / RID)
    with pytest.raises(InputError, match=f"release {RID} were destroyed by purge.*no longer"):
        deliver.run(ctx, RID)
    assert not (root / "outbox" / RID).exists()


def test_the_demo_researcher_key_pair_lives_beside_the_zones_and_is_announced(
    root, repo, spark, caplog
):
    ctx = context(repo, root, spark)
    with caplog.at_level("WARNING", logger="pseudolink"):
        private, public = deliver.demo_key_pair(ctx)
    assert private.parent == root / "researcher-demo" and public.exists()
    assert "DEMO-ONLY researcher key pair" in caplog.text
    assert oct(private.stat().st_mode & 0o777) == "0o600"
    assert deliver.demo_key_pair(ctx) == (private, public)  # made once
    shutil.rmtree(root / "researcher-demo")


@pytest.mark.slow
def test_the_demo_release_opens_to_the_same_tables(released, tmp_path, repo, spark, monkeypatch):
    """End to end over the demo's release (a copy): deliver, then decrypt as the demo
    researcher, and Spark reads every table back with the same rows."""
    from pseudolink.config import uri_to_local_path

    monkeypatch.setenv("PSEUDOLINK_PASSPHRASE", PASSPHRASE)
    _, _, outcome, rules = released
    rid = outcome.release_id
    root = tmp_path / "root"
    shutil.copytree(uri_to_local_path(outcome.folder), root / "release" / rid)
    ctx = context(repo, root, spark)
    done = deliver.run(ctx, rid)
    package = root / "outbox" / rid
    assert tiny_root.files_containing(package, "age_class") == []  # no column name in clear
    key = load_private_key(root / DEMO_DIR / f"{deliver.DEMO_ID}.key")
    opened = open_package(package, key, tmp_path / "out", package / "signer.pub")
    listed = json.loads((root / "release" / rid / "manifest.json").read_text())["files"]
    assert opened["files"] == len(listed) and done["package_bytes"] > sum(
        f["bytes"] for f in listed
    )
    for name, rows in outcome.tables.items():
        back = spark.read.format("delta").load(str(tmp_path / "out" / rid / name))
        assert back.count() == rows, name
    assert set(outcome.tables) == set(rules.tables)
