"""Bad deliveries: each is one clear InputError naming the file, nothing is written, and
no INSZ shows in the message."""

from __future__ import annotations

import gzip
import re

import pytest
from ingest_fixtures import (
    EMPLOYMENT_HEADER,
    KSZ_HEADER,
    employment_line,
    insz,
    job_context,
    ksz_file,
    ksz_line,
    write_delivery,
)

from pseudolink.errors import InputError
from pseudolink.stages import ingest

ACTIVATION_HEADER = (
    "insz;action_id;trajectory_type;start_date;end_date;early_stop;early_stop_reason;"
    "sanction_referral;cooperation_partner"
)
INSZ_LIKE = re.compile(r"(?<!\d)\d{11}(?!\d)")


def rejected(spark, root) -> str:
    """Run the stage, expect an InputError; check nothing was written; return the message."""
    with pytest.raises(InputError) as info:
        ingest.run(job_context(spark, root))
    message = str(info.value)
    assert not INSZ_LIKE.search(message), message
    assert not (root / "bronze").exists()
    return message


def ksz(root, files, **kw):
    return write_delivery(root, "ksz", "ksz-1", files, **kw)


def test_missing_file(spark, tmp_path):
    folder = ksz(tmp_path, {"a.csv": ("ksz_quarterly", ksz_file(2))})
    (folder / "a.csv").unlink()
    assert rejected(spark, tmp_path).endswith(
        "inbox/ksz/ksz-1/a.csv: listed in manifest.json (kind ksz_quarterly, 2 rows) "
        "but not found in the delivery folder"
    )


def test_unlisted_file(spark, tmp_path):
    folder = ksz(tmp_path, {"a.csv": ("ksz_quarterly", ksz_file(2))})
    (folder / "extra.csv").write_text(KSZ_HEADER + "\n")
    assert "ksz-1: extra.csv not listed in manifest.json" in rejected(spark, tmp_path)


def test_unknown_kind(spark, tmp_path):
    ksz(tmp_path, {"a.csv": ("ksz_monthly", ksz_file(2))})
    message = rejected(spark, tmp_path)
    assert "key 'files[0].kind': expected one of ksz_quarterly, found 'ksz_monthly'" in message


def test_checksum_mismatch(spark, tmp_path):
    folder = ksz(tmp_path, {"a.csv": ("ksz_quarterly", ksz_file(2))})
    with (folder / "a.csv").open("a") as handle:
        handle.write(ksz_line(7) + "\n")
    message = rejected(spark, tmp_path)
    assert re.search(
        r"ksz-1/a.csv: SHA-256 mismatch: manifest says [0-9a-f]{64}, the file", message
    )


def test_row_count_mismatch(spark, tmp_path):
    def claim_five(manifest):
        manifest["files"][0]["rows"] = 5

    ksz(tmp_path, {"a.csv.gz": ("ksz_quarterly", ksz_file(2))}, edit=claim_five)
    assert rejected(spark, tmp_path).endswith(
        "ksz-1/a.csv.gz: row count mismatch: manifest says 5 rows, the file has 2 data lines"
    )


def test_empty_file(spark, tmp_path):
    ksz(tmp_path, {"a.csv": ("ksz_quarterly", b"")})
    assert "ksz-1/a.csv: empty file (expected the header line 'insz;quarter;" in rejected(
        spark, tmp_path
    )


def test_wrong_header_rejects_the_whole_delivery(spark, tmp_path):
    # The first kind (vdab_activation) is fine; the second has no header: a data line
    # where the header should be. Nothing of the delivery may be written.
    files = {
        "act.csv": ("vdab_activation", [ACTIVATION_HEADER]),
        "emp.csv": ("vdab_employment", [employment_line(1), employment_line(2)]),
    }
    write_delivery(tmp_path, "vdab", "vdab-1", files)
    message = rejected(spark, tmp_path)
    assert (
        f"vdab-1/emp.csv: wrong header: expected '{EMPLOYMENT_HEADER}', found a line of" in message
    )
    assert "not shown" in message and insz(1) not in message and "***" not in message


def test_wrong_delimiter(spark, tmp_path):
    lines = [line.replace(";", ",") for line in ksz_file(2)]
    ksz(tmp_path, {"a.csv": ("ksz_quarterly", lines)})
    message = rejected(spark, tmp_path)
    assert "ksz-1/a.csv: wrong header (wrong delimiter: fields are separated by ','" in message


def test_truncated_gzip(spark, tmp_path):
    whole = gzip.compress(("\n".join(ksz_file(300)) + "\n").encode(), mtime=0)
    ksz(tmp_path, {"a.csv.gz": ("ksz_quarterly", whole[: len(whole) // 2])})
    message = rejected(spark, tmp_path)
    # Spark raises FAILED_READ_FILE caused by java.io.EOFException for a cut gzip stream.
    assert (
        "ksz-1/a.csv.gz: cannot be read (java.io.EOFException: Unexpected end of input" in message
    )


def test_unknown_source_folder(spark, tmp_path):
    write_delivery(tmp_path, "rsz", "rsz-1", {"a.csv": ("ksz_quarterly", ksz_file(1))})
    message = rejected(spark, tmp_path)
    assert message.endswith(
        "inbox/rsz: unknown source folder (expected one of: statbel, ksz, vdab)"
    )


def test_manifest_not_json(spark, tmp_path):
    folder = ksz(tmp_path, {"a.csv": ("ksz_quarterly", ksz_file(1))})
    (folder / "manifest.json").write_text("{files: 1")
    assert "ksz-1/manifest.json: not valid JSON" in rejected(spark, tmp_path)


def test_unknown_delivery_option(spark, tmp_path):
    ksz(tmp_path, {"a.csv": ("ksz_quarterly", ksz_file(1))})
    with pytest.raises(InputError, match="no delivery 'ksz-9' \\(found: ksz-1\\)"):
        ingest.run(job_context(spark, tmp_path), delivery="ksz-9")
