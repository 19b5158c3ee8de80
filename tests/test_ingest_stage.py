"""The ingest stage end to end on small deliveries in tmp_path: bronze tables, quarantine,
report, ledger, idempotence and a crash half-way."""

from __future__ import annotations

import datetime as dt
import json
import shutil

import pytest
from chispa import assert_df_equality
from ingest_fixtures import (
    EMPLOYMENT_HEADER,
    employment_line,
    insz,
    job_context,
    ksz_file,
    ksz_line,
    write_delivery,
)
from pyspark.sql import functions as F
from pyspark.sql import types as T

from pseudolink.errors import InputError
from pseudolink.ingest.tables import table_version
from pseudolink.stages import ingest

KSZ_TABLES = ("ksz/ksz_quarterly", "_quarantine", "_ingest_report", "_ledger")


def read(spark, root, table):
    return spark.read.format("delta").load(f"{root.as_uri()}/bronze/{table}")


def comparable(df):
    """Maps as sorted entry arrays (chispa sorts rows, and Spark cannot sort maps)."""
    maps = [f.name for f in df.schema.fields if isinstance(f.dataType, T.MapType)]
    return df.select(
        *[F.array_sort(F.map_entries(c)).alias(c) if c in maps else F.col(c) for c in df.columns]
    )


def write_ksz(root):
    lines = ksz_file(6) + [
        ksz_line(90, "2016Q2", activation_start="2015-11"),
        ksz_line(91, rva_status="99"),  # UNKNOWN_CODE
        ksz_line(0),  # DUPLICATE_KEY of line 2
    ]
    plain = ksz_file(3, 10, "2016Q3")
    latin1 = (
        "\n".join(plain).encode() + b"\n" + ksz_line(20).encode()[:-2] + b"\xe9\xe9\n"
    )  # one line with latin-1 bytes: BAD_ENCODING
    files = {
        "ksz_q-0000.csv.gz": ("ksz_quarterly", lines),
        "ksz_q-0001.csv": ("ksz_quarterly", latin1),
    }
    write_delivery(root, "ksz", "ksz-2016", files)


@pytest.fixture(scope="module")
def ingested(spark, tmp_path_factory):
    """A ksz and a vdab delivery, ingested once."""
    root = tmp_path_factory.mktemp("good")
    write_ksz(root)
    employment = [EMPLOYMENT_HEADER, employment_line(1), employment_line(2, "2017-01-05")]
    write_delivery(root, "vdab", "vdab-2016", {"emp.csv": ("vdab_employment", employment)})
    return root, ingest.run(job_context(spark, root))


def test_good_deliveries_land_in_bronze(spark, ingested):
    root, reports = ingested
    assert [(r.source, r.delivery_id, r.status) for r in reports] == [
        ("ksz", "ksz-2016", "ingested"),
        ("vdab", "vdab-2016", "ingested"),
    ]
    ksz, vdab = reports
    assert (ksz.rows, ksz.accepted) == (13, 10)
    assert ksz.quarantined == {"BAD_ENCODING": 1, "DUPLICATE_KEY": 1, "UNKNOWN_CODE": 1}
    assert (vdab.rows, vdab.accepted, vdab.quarantined) == (2, 1, {"OUT_OF_PERIOD": 1})
    assert "13 rows, 10 accepted, 3 quarantined (BAD_ENCODING 1," in ksz.summary()

    bronze = read(spark, root, "ksz/ksz_quarterly")
    assert bronze.count() == 10
    row = bronze.filter(F.col("source_line") == 8).first()
    assert (row["insz"], row["quarter"], row["period"]) == (insz(90), "2016Q2", "2016Q2")
    assert row["activation_start"] == "2015-11" and row["source_file"] == "ksz_q-0000.csv.gz"
    assert row["delivery_id"] == "ksz-2016" and isinstance(row["ingest_time"], dt.datetime)
    periods = sorted(r["period"] for r in bronze.select("period").distinct().collect())
    assert periods == ["2016Q1", "2016Q2", "2016Q3"]
    emp = read(spark, root, "vdab/vdab_employment").first()
    assert (emp["start_date"], emp["period"], emp["source_line"]) == (
        dt.date(2016, 3, 1),
        "2016",
        2,
    )

    quarantine = read(spark, root, "_quarantine")
    got = quarantine.select("delivery_id", "kind", "file", "line", "reason")
    expected = spark.createDataFrame(
        [
            ("ksz-2016", "ksz_quarterly", "ksz_q-0000.csv.gz", 9, "UNKNOWN_CODE"),
            ("ksz-2016", "ksz_quarterly", "ksz_q-0000.csv.gz", 10, "DUPLICATE_KEY"),
            ("ksz-2016", "ksz_quarterly", "ksz_q-0001.csv", 5, "BAD_ENCODING"),
            ("vdab-2016", "vdab_employment", "emp.csv", 3, "OUT_OF_PERIOD"),
        ],
        got.schema,
    )
    assert_df_equality(got, expected, ignore_row_order=True, ignore_nullable=True)
    bad = quarantine.filter(F.col("reason") == "BAD_ENCODING").first()
    assert bad["raw_line"].endswith("\ufffd\ufffd") and bad["source"] == "ksz"

    report = json.loads((root / "bronze/_reports/ksz-2016.json").read_text())
    by_file = {
        f["name"]: (f["manifest_rows"], f["accepted"], f["quarantined"]) for f in report["files"]
    }
    assert by_file == {
        "ksz_q-0000.csv.gz": (9, 7, {"DUPLICATE_KEY": 1, "UNKNOWN_CODE": 1}),
        "ksz_q-0001.csv": (4, 3, {"BAD_ENCODING": 1}),
    }
    table = read(spark, root, "_ingest_report").filter(F.col("file") == "ksz_q-0001.csv").first()
    assert (table["manifest_rows"], table["accepted"], table["quarantined"]) == (4, 3, 1)
    assert table["quarantined_by_reason"] == {"BAD_ENCODING": 1}
    ledger = read(spark, root, "_ledger").orderBy("delivery_id").collect()
    assert [(r["delivery_id"], r["rows"], r["accepted"]) for r in ledger] == [
        ("ksz-2016", 13, 10),
        ("vdab-2016", 2, 1),
    ]


def test_second_run_changes_nothing(spark, ingested, caplog):
    root, _ = ingested
    tables = [*KSZ_TABLES, "vdab/vdab_employment"]
    before = {t: table_version(spark, f"{root.as_uri()}/bronze/{t}") for t in tables}
    counts = {t: read(spark, root, t).count() for t in tables}
    with caplog.at_level("INFO", logger="pseudolink"):
        reports = ingest.run(job_context(spark, root))
    assert [r.status for r in reports] == ["skipped", "skipped"]
    assert {t: table_version(spark, f"{root.as_uri()}/bronze/{t}") for t in tables} == before
    assert {t: read(spark, root, t).count() for t in tables} == counts
    assert "ksz/ksz-2016 already ingested (ledger): skipped" in caplog.text


def test_crash_half_way_then_rerun_ends_as_one_run(spark, ingested, tmp_path, monkeypatch):
    calls = []
    real = ingest.replace_delivery

    def crash_on_second_write(*args, **kwargs):
        calls.append(args[1])
        if len(calls) == 2:
            raise RuntimeError("simulated crash after the bronze write")
        real(*args, **kwargs)

    write_ksz(tmp_path)
    monkeypatch.setattr(ingest, "replace_delivery", crash_on_second_write)
    with pytest.raises(RuntimeError, match="simulated crash"):
        ingest.run(job_context(spark, tmp_path))
    assert read(spark, tmp_path, "ksz/ksz_quarterly").count() == 10  # half-way: bronze only
    assert not (tmp_path / "bronze/_ledger").exists()

    monkeypatch.setattr(ingest, "replace_delivery", real)
    (report,) = ingest.run(job_context(spark, tmp_path))
    assert report.status == "ingested"
    good, _ = ingested
    for table in KSZ_TABLES:
        drop = ["ingest_time", "completed_at"]
        got = read(spark, tmp_path, table).filter(F.col("delivery_id") == "ksz-2016").drop(*drop)
        want = read(spark, good, table).filter(F.col("delivery_id") == "ksz-2016").drop(*drop)
        assert_df_equality(
            comparable(got), comparable(want), ignore_row_order=True, ignore_column_order=True
        )


def test_changed_delivery_with_same_id_is_an_error(spark, ingested, tmp_path):
    root, _ = ingested
    shutil.copytree(root, tmp_path / "copy")
    manifest = tmp_path / "copy/inbox/ksz/ksz-2016/manifest.json"
    data = json.loads(manifest.read_text())
    data["sender"] = "KSZ again"
    manifest.write_text(json.dumps(data))
    with pytest.raises(InputError, match="already ingested .* needs a new delivery_id"):
        ingest.run(job_context(spark, tmp_path / "copy", "ksz-2016"), delivery="ksz-2016")
