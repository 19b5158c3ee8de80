"""`./spark-submit.sh ingest` as a user runs it: exit 0 on a good delivery, exit 2 with one
masked line on a bad one (one subprocess each: they take half a minute)."""

from __future__ import annotations

import re

import pytest
from ingest_fixtures import insz, ksz_file, ksz_line, write_delivery
from test_cli import sh

pytestmark = pytest.mark.slow


def test_job_ingests_a_good_delivery(repo, tmp_path):
    write_delivery(tmp_path, "ksz", "ksz-1", {"a.csv.gz": ("ksz_quarterly", ksz_file(3))})
    result = sh(repo, "ingest", "--root", str(tmp_path))
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "ksz/ksz-1: 1 files, 3 rows, 3 accepted, 0 quarantined (none)" in output
    assert (tmp_path / "bronze/ksz/ksz_quarterly/_delta_log").is_dir()
    assert (tmp_path / "bronze/_reports/ksz-1.json").is_file()
    assert insz(0) not in output


def test_job_rejects_a_bad_delivery_with_one_masked_line(repo, tmp_path):
    # No header: the first line is a data line, so the message shows an INSZ (masked).
    write_delivery(tmp_path, "ksz", "ksz-1", {"a.csv": ("ksz_quarterly", [ksz_line(5)])})
    result = sh(repo, "ingest", "--root", str(tmp_path))
    output = result.stdout + result.stderr
    assert result.returncode == 2, output[-3000:]
    errors = [line for line in output.splitlines() if " ERROR ingest: " in line]
    assert len(errors) == 1, output[-3000:]
    assert "ksz-1/a.csv: wrong header: expected 'insz;quarter;" in errors[0]
    assert "not shown" in errors[0] and insz(5) not in errors[0]  # the data row: not echoed
    assert not re.search(r"(?<!\d)\d{11}(?!\d)", output)
    assert "Traceback" not in output
