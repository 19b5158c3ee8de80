"""spark-submit.sh and the shared job runner, as a user meets them."""

from __future__ import annotations

import subprocess

import pytest

from pseudolink import cli
from pseudolink.errors import InputError


def sh(repo, *args, env=None):
    return subprocess.run(
        [str(repo / "spark-submit.sh"), *args],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_help_lists_every_job_with_one_line(repo):
    result = sh(repo, "--help")
    assert result.returncode == 0
    jobs = sorted(p.stem for p in (repo / "jobs").glob("[a-z]*.py"))
    lines = result.stdout.splitlines()
    for job in jobs:
        assert any(line.strip().startswith(job + " ") for line in lines), job
    assert "pipeline" in jobs


def test_unknown_job_is_a_clear_error(repo):
    result = sh(repo, "no-such-job")
    assert result.returncode == 2
    assert "unknown job 'no-such-job'" in result.stderr
    assert "Traceback" not in result.stderr


def test_job_help_shows_common_options(repo):
    result = sh(repo, "pipeline", "--help")
    assert result.returncode == 0
    assert "--root DIR" in result.stdout and "--conf FILE" in result.stdout


def test_missing_config_file_stops_before_spark(repo):
    result = sh(repo, "pipeline", "--conf", "conf/nope.yaml")
    assert result.returncode == 2
    assert "config file not found: conf/nope.yaml" in result.stderr


def test_user_error_is_one_masked_line_and_exit_2(repo, capsys, tmp_path):
    def main(ctx):
        raise InputError("inbox/ksz/f.csv line 3: INSZ 85073003328 has bad check digits")

    argv = ["--conf", str(repo / "conf/local.yaml"), "--root", str(tmp_path)]
    with pytest.raises(SystemExit) as info:
        cli.run("Test job.", None, main, argv=argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "inbox/ksz/f.csv line 3: INSZ *********** has bad check digits" in err
    assert "85073003328" not in err and "Traceback" not in err


def test_unexpected_error_is_one_line_with_masked_log(repo, capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("PSEUDOLINK_LOG_DIR", str(tmp_path))

    def main(ctx):
        raise RuntimeError("boom on 85073003328")

    argv = ["--conf", str(repo / "conf/local.yaml"), "--root", str(tmp_path / "root")]
    with pytest.raises(SystemExit) as info:
        cli.run("Test job.", None, main, argv=argv)
    assert info.value.code == 1
    err = capsys.readouterr().err
    assert "failed unexpectedly: RuntimeError: boom on ***********" in err
    assert "Traceback" not in err
    (log,) = tmp_path.glob("*.log")
    text = log.read_text()
    assert "Traceback" in text and "***********" in text and "85073003328" not in text


def test_bad_config_value_through_the_job_runner(tmp_path, capsys):
    conf = tmp_path / "bad.yaml"
    conf.write_text("profile: x\nroot: d\nspark:\n  shuffle_partitions: many\n")
    with pytest.raises(SystemExit) as info:
        cli.run("Test job.", None, lambda ctx: 0, argv=["--conf", str(conf)])
    assert info.value.code == 2
    assert "key 'spark.shuffle_partitions': expected an integer" in capsys.readouterr().err
