"""Delivery over SFTP to a real OpenSSH server on 127.0.0.1 (tests/sftp_server.py): the
package arrives verified; an interrupted upload resumes; a server that is down, refuses
the key or is not the pinned one gets a clear error and nothing is left on it; retention
removes the server's copy, keys first."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from dataclasses import replace

import pytest
import sftp_server
import tiny_root
from shared import PASSPHRASE

from pseudolink.config import RetentionSettings, SftpSettings, load_config
from pseudolink.deliver.sftp import Server, SftpError, connect, upload
from pseudolink.stages import deliver, retention

RID = tiny_root.RID
pytestmark = pytest.mark.skipif(
    not sftp_server.SSHD.exists(), reason="openssh-server not installed (scripts/run-tests.sh does)"
)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    started = sftp_server.start(tmp_path_factory.mktemp("sshd"))
    yield started
    started.stop()
    assert started.process.poll() is not None


@pytest.fixture(scope="module")
def template(spark, tmp_path_factory):
    root = tmp_path_factory.mktemp("release") / "root"
    tiny_root.release(spark, root / "release" / RID)
    return root


def settings(server, remote, **changes):
    values = {
        "host": "127.0.0.1",
        "port": server.port,
        "username": server.user,
        "host_key": str(server.host_key_pub),
        "client_key": str(server.client_key),
        "remote_dir": str(remote),
        "timeout_seconds": 10,
        **changes,
    }
    return SftpSettings(**values)


def context(repo, root, spark, sftp, end=dt.date(2033, 11, 30)):
    base = load_config(repo / "conf" / "local.yaml")
    return tiny_root.context(
        repo,
        root,
        spark,
        deliver=replace(base.deliver, sftp=sftp),
        retention=RetentionSettings(end),
    )


@pytest.fixture
def root(template, tmp_path, monkeypatch):
    monkeypatch.setenv("PSEUDOLINK_PASSPHRASE", PASSPHRASE)
    return tiny_root.copy(template, tmp_path / "root")


def sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_deliver_uploads_a_verified_package_and_retention_removes_it(
    server, root, repo, spark, tmp_path
):
    remote = tmp_path / "server" / "deliveries"
    ctx = context(repo, root, spark, settings(server, remote))
    done = deliver.run(ctx, RID)
    local, there = root / "outbox" / RID, remote / RID
    files = sorted(str(p.relative_to(local)) for p in local.rglob("*") if p.is_file())
    assert sorted(str(p.relative_to(there)) for p in there.rglob("*") if p.is_file()) == files
    assert all(sha(local / f) == sha(there / f) for f in files)
    (up,) = done["uploads"]
    assert up["remote"].endswith(f"/{RID}") and up["bytes_sent"] == done["package_bytes"]
    record = json.loads((root / "trusted" / "deliveries" / f"{RID}.json").read_text())
    assert record["uploads"][0]["server"].startswith("sftp://")
    again = deliver.run(ctx, RID)  # already there: checked on the server, nothing sent
    assert again["uploads"][0]["bytes_sent"] == 0

    expired = context(repo, root, spark, settings(server, remote), end=dt.date(2026, 1, 1))
    (stone,) = retention.run(expired)["destroyed"]
    assert stone["remote"] == "done" and not there.exists() and not local.exists()


def test_an_interrupted_upload_resumes_where_it_stopped(server, tmp_path):
    local = tmp_path / "package"
    local.mkdir()
    (local / "payload.enc").write_bytes(os.urandom(3 << 20))
    (local / "package.json").write_text("{}")
    files = [
        {"path": p, "bytes": (local / p).stat().st_size, "sha256": sha(local / p)}
        for p in ("payload.enc", "package.json")
    ]
    target = Server(
        "127.0.0.1",
        server.port,
        server.user,
        server.host_key_pub,
        server.client_key,
        str(tmp_path / "server"),
    )
    remote = f"{target.remote_dir}/r1"

    def stop_after_a_mib(path, done):
        if done >= 1 << 20:
            raise ConnectionResetError("the line dropped")

    with pytest.raises(ConnectionResetError), connect(target) as sftp:
        upload(sftp, local, remote, files, stop_after_a_mib)
    part = tmp_path / "server" / "r1" / "payload.enc.part"
    assert part.exists() and 0 < part.stat().st_size < 3 << 20
    assert not (tmp_path / "server" / "r1" / "package.json").exists()
    offset = part.stat().st_size
    with connect(target) as sftp:
        stats = upload(sftp, local, remote, files)
    assert stats.resumed == {"payload.enc": offset}
    assert stats.sent == (3 << 20) - offset + len("{}")
    assert sha(tmp_path / "server" / "r1" / "payload.enc") == files[0]["sha256"]
    assert not part.exists()
    # a partial copy that went bad on the server is found by its checksum and sent again
    (tmp_path / "server" / "r1" / "payload.enc").unlink()
    part.write_bytes(os.urandom(3 << 20))
    with connect(target) as sftp:
        stats = upload(sftp, local, remote, files)
    assert sha(tmp_path / "server" / "r1" / "payload.enc") == files[0]["sha256"]
    assert stats.verified == ["payload.enc"] and stats.skipped == ["package.json"]


@pytest.mark.parametrize(
    "problem, expected",
    [
        ("down", "cannot reach the SFTP server"),
        ("refused key", "the server refused the key"),
        ("other host", "is not the pinned one"),
    ],
)
def test_a_server_that_is_down_refuses_the_key_or_is_not_pinned(
    server, root, repo, spark, tmp_path, problem, expected
):
    remote = tmp_path / "server"
    changes = {
        "down": {"port": sftp_server.free_port()},
        "refused key": {"client_key": str(server.other_key)},
        "other host": {"host_key": str(server.other_key) + ".pub"},
    }[problem]
    ctx = context(repo, root, spark, settings(server, remote, **changes))
    with pytest.raises(SftpError) as refused:
        deliver.run(ctx, RID)
    assert expected in str(refused.value) and "sftp://" in str(refused.value)
    assert "PRIVATE" not in str(refused.value)
    assert not remote.exists()  # nothing on the server
    assert not (root / "trusted" / "deliveries" / f"{RID}.json").exists()  # not delivered


def test_retention_with_the_server_down_destroys_locally_and_finishes_later(
    server, root, repo, spark, tmp_path
):
    remote = tmp_path / "server"
    deliver.run(context(repo, root, spark, settings(server, remote)), RID)
    down = settings(server, remote, port=sftp_server.free_port())
    with pytest.raises(SftpError, match="could not be removed"):
        retention.run(context(repo, root, spark, down, end=dt.date(2026, 1, 1)))
    assert not (root / "outbox" / RID).exists() and (remote / RID / "payload.enc").exists()
    stone = json.loads((root / "trusted" / "retention" / f"{RID}.json").read_text())
    assert stone["remote"] == "pending"
    (done,) = retention.run(context(repo, root, spark, settings(server, remote)))["destroyed"]
    assert done["remote"] == "done" and not (remote / RID).exists()
    assert "outbox/r1" in done["what"]
