"""The hash-chained audit log: every job appends an event; `audit verify` finds edited,
removed, reordered and cut-off events. No Spark needed."""

from __future__ import annotations

import importlib.util
import json

import pytest

from pseudolink import audit, cli
from pseudolink.errors import InputError


def load_job(repo, name):
    spec = importlib.util.spec_from_file_location(f"job_{name}", repo / "jobs" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_job(repo, root, main, *extra, add_arguments=None, doc="A test job."):
    argv = ["--conf", str(repo / "conf" / "local.yaml"), "--root", str(root), *extra]
    with pytest.raises(SystemExit) as info:
        cli.run(doc, add_arguments, main, argv=argv)
    return info.value.code


def events(root):
    path = root / "trusted" / "audit" / "events.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def lines_of(root):
    return (root / "trusted" / "audit" / "events.jsonl").read_text().splitlines(keepends=True)


def write_lines(root, lines):
    (root / "trusted" / "audit" / "events.jsonl").write_text("".join(lines))


def verify(repo, root, *extra):
    job = load_job(repo, "audit")
    return run_job(repo, root, job.main, "verify", *extra, add_arguments=job.add_arguments)


def a_stage(ctx):
    ctx.audit.add("demo", inputs=["bronze/x"], outputs=["trusted/y"], counts={"rows": 3})
    return 0


@pytest.fixture
def chained(repo, tmp_path):
    """Four events by four runs of a small job."""
    for _ in range(4):
        assert run_job(repo, tmp_path, a_stage) == 0
    return tmp_path


def test_every_job_appends_a_chained_event_with_what_it_did(chained, repo):
    found = events(chained)
    assert [e["seq"] for e in found] == [1, 2, 3, 4]
    assert found[0]["prev"] == audit.GENESIS
    for before, after in zip(found, found[1:], strict=False):
        assert after["prev"] == before["hash"] == audit.event_hash(before)
    first = found[0]
    assert first["status"] == "ok" and first["exit_code"] == 0
    assert first["inputs"] == ["bronze/x"] and first["outputs"] == ["trusted/y"]
    assert first["counts"] == {"demo": {"rows": 3}}
    assert len(first["config_sha256"]) == 64 and first["code_version"].startswith(("git ", "pse"))
    assert first["time"] >= first["started"]
    head = json.loads((chained / "trusted" / "audit" / "head.json").read_text())
    assert head["seq"] == 4 and head["hash"] == found[-1]["hash"]
    assert verify(repo, chained) == 0
    assert events(chained)[-1]["job"] and events(chained)[-1]["counts"] == {
        "audit verify": {"events": 4, "head_seq": 4}
    }


def test_a_failed_job_is_recorded_with_its_masked_error(repo, tmp_path):
    def fails(ctx):
        raise InputError("inbox/ksz/f.csv: INSZ 85073003328 is wrong")

    assert run_job(repo, tmp_path, fails) == 2
    (event,) = events(tmp_path)
    assert event["status"] == "failed" and event["exit_code"] == 2
    assert "***********" in event["error"]
    assert "85073003328" not in (tmp_path / "trusted" / "audit" / "events.jsonl").read_text()


def test_an_edited_event_is_found(chained, repo, capsys):
    lines = lines_of(chained)
    lines[1] = lines[1].replace('"rows":3', '"rows":4')
    write_lines(chained, lines)
    assert verify(repo, chained) == 2
    err = capsys.readouterr().err
    assert "events.jsonl line 2 (event 2): edited" in err
    assert len(events(chained)) == 4  # a broken chain is not extended


def test_an_edit_with_a_recomputed_hash_breaks_the_next_link(chained):
    lines = lines_of(chained)
    event = json.loads(lines[1])
    event["counts"]["demo"]["rows"] = 99
    event["hash"] = audit.event_hash(event)
    lines[1] = audit.canonical(event).decode() + "\n"
    write_lines(chained, lines)
    found = audit.verify(chained / "trusted" / "audit")
    assert not found.ok
    assert any("line 3 (event 3): its prev does not match" in p for p in found.problems)


def test_a_removed_event_is_found(chained, repo, capsys):
    lines = lines_of(chained)
    write_lines(chained, lines[:1] + lines[2:])
    assert verify(repo, chained) == 2
    err = capsys.readouterr().err
    assert "holds event 3, expected event 2 (events removed)" in err


def test_reordered_events_are_found(chained):
    lines = lines_of(chained)
    write_lines(chained, [lines[0], lines[2], lines[1], lines[3]])
    found = audit.verify(chained / "trusted" / "audit")
    assert any("holds event 2, expected event 3 (events reordered)" in p for p in found.problems)
    assert any("its prev does not match" in p for p in found.problems)


def test_events_cut_off_the_end_are_found(chained, repo, capsys):
    write_lines(chained, lines_of(chained)[:3])
    assert verify(repo, chained) == 2
    assert "head.json names event 4, the log ends at event 3" in capsys.readouterr().err


def test_an_anchor_must_still_be_in_the_log(chained, repo, capsys):
    third = events(chained)[2]
    assert verify(repo, chained, "--anchor", f"3:{third['hash']}") == 0
    assert verify(repo, chained, "--anchor", f"3:{'0' * 64}") == 2
    assert "the log does not hold it" in capsys.readouterr().err
    assert verify(repo, chained, "--anchor", "three") == 2


def test_an_interrupted_append_is_finished_by_the_next_one(chained, repo):
    folder = chained / "trusted" / "audit"
    head = (folder / "head.json").read_text()
    log = audit.AuditLog(folder)
    log.append({"time": "t", "job": "x", "status": "ok"})
    (folder / "head.json").write_text(head)  # as if stopped before the head moved
    found = audit.verify(folder)
    assert found.ok and "1 event(s) after the head" in found.notes[0]
    with open(folder / "events.jsonl", "a") as fh:
        fh.write('{"seq": 6, "half a li')  # a write cut off mid-line
    assert audit.verify(folder).ok
    event = log.append({"time": "t", "job": "y", "status": "ok"})
    assert event["seq"] == 6 and "unfinished last line" in event["repaired"]
    assert audit.verify(folder).ok and log.read_head()["seq"] == 6


def test_a_job_does_not_start_on_an_unreadable_log(chained, repo, capsys):
    lines = lines_of(chained)
    write_lines(chained, lines[:3] + ["not json\n"])
    ran = []
    assert run_job(repo, chained, lambda ctx: ran.append(1)) == 2
    assert not ran
    assert "line 4 is not a JSON event" in capsys.readouterr().err


def test_audit_verify_through_spark_submit(chained, repo):
    import subprocess

    result = subprocess.run(
        [str(repo / "spark-submit.sh"), "audit", "verify", "--root", str(chained)],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "audit log: 4 events, chain intact" in result.stdout
    last = events(chained)[-1]
    assert last["seq"] == 5 and last["job"] == "audit" and last["arguments"]["action"] == "verify"
    assert audit.verify(chained / "trusted" / "audit").ok


def test_the_user_comes_from_the_uid_not_the_environment(monkeypatch):
    import os
    import pwd

    monkeypatch.setenv("USER", "alice")
    monkeypatch.setenv("LOGNAME", "alice")
    monkeypatch.delenv("SUDO_USER", raising=False)
    assert audit.current_user() == pwd.getpwuid(os.getuid()).pw_name != "alice"
    monkeypatch.setenv("SUDO_USER", "bob")
    expected = "root (sudo by bob)" if os.getuid() == 0 else pwd.getpwuid(os.getuid()).pw_name
    assert audit.current_user() == expected
