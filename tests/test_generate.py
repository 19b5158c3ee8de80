"""The generator's invariants, checked on its files (not on its internal state)."""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import io
import json
import logging
from collections import Counter, defaultdict
from dataclasses import replace
from pathlib import Path

import pytest
from stdnum.be import bis, nn

from pseudolink.cli import JobContext
from pseudolink.config import load_config
from pseudolink.generate.writer import ROW_FAULTS
from pseudolink.schemas import load_codelist
from pseudolink.stages import generate

PERSONS, SEED = 1500, 11


def make_ctx(repo: Path, spark, root: Path) -> JobContext:
    config = load_config(repo / "conf" / "local.yaml", root=str(root))
    config = replace(config, generator=replace(config.generator, block_size=800))
    ctx = JobContext("generate", argparse.Namespace(), config, logging.getLogger("pseudolink"))
    ctx.__dict__["spark"] = spark  # the session fixture, not a new session
    return ctx


@pytest.fixture(scope="module")
def generated(repo, spark, tmp_path_factory):
    root = tmp_path_factory.mktemp("gen")
    summary = generate.run(make_ctx(repo, spark, root), PERSONS, SEED, inject_faults=True)
    return root, summary


def read_rows(path: Path) -> list[dict[str, str]]:
    raw = path.read_bytes()
    text = (gzip.decompress(raw) if path.suffix == ".gz" else raw).decode("utf-8")
    return list(csv.DictReader(io.StringIO(text), delimiter=";"))


def faulty_lines(root: Path) -> set[tuple[str, int]]:
    rows = read_rows(root / "truth" / "faults.csv")
    return {(r["file"], int(r["line"])) for r in rows if r["line"]}


def kind_rows(root: Path, source: str, kind: str, skip_faults: bool = True) -> list[dict]:
    bad = faulty_lines(root) if skip_faults else set()
    out = []
    for path in sorted((root / "inbox" / source).glob(f"{source}-2025-01/{kind}-*.csv*")):
        for line, row in enumerate(read_rows(path), start=2):
            if (path.name, line) not in bad:
                out.append(row)
    return out


def test_runs_in_parallel_blocks_and_reports(generated):
    _, summary = generated
    assert summary["blocks"] == 2
    assert summary["persons_simulated"] > PERSONS  # births and arrivals come on top
    assert summary["rows"] > 50 * PERSONS


def test_later_jobs_are_not_described_as_generate(generated, spark):
    # generate names its Spark job; the name must not stick to every job after it.
    assert spark.sparkContext.getLocalProperty("spark.job.description") is None


def test_manifests_match_the_files(generated):
    root, _ = generated
    manifests = sorted((root / "inbox").glob("*/*/manifest.json"))
    assert len(manifests) == 5  # three deliveries and two file-level fault deliveries
    for manifest in manifests:
        spec = json.loads(manifest.read_text())
        names = {p.name for p in manifest.parent.iterdir()} - {"manifest.json"}
        assert names == {f["name"] for f in spec["files"]}
        for f in spec["files"]:
            data = (manifest.parent / f["name"]).read_bytes()
            assert hashlib.sha256(data).hexdigest() == f["sha256"]
            if "truncated" not in manifest.parent.name:
                text = gzip.decompress(data) if f["name"].endswith(".gz") else data
                assert text.decode("latin-1").count("\n") - 1 == f["rows"]


def test_every_insz_is_valid_and_matches_birth_date_and_sex(generated):
    root, _ = generated
    rows = kind_rows(root, "statbel", "demobel")
    assert rows
    seen_bis = unknown = 0
    for r in rows:
        insz = r["insz"]
        assert nn.is_valid(insz) or bis.is_valid(insz), insz
        month = int(insz[2:4])
        assert insz[:2] == r["birth_year"][2:]
        if month >= 20:
            seen_bis += 1
        if r["birth_date"]:
            assert (
                insz[2:6]
                == f"{int(r['birth_date'][5:7]) + (month // 20) * 20:02d}" + r["birth_date"][8:10]
            )
        else:
            unknown += 1
            assert insz[4:6] == "00"
        if month < 20 or month >= 40:  # sex known at issue: odd serial for men
            assert int(insz[6:9]) % 2 == (1 if r["sex"] == "M" else 0)
    assert seen_bis > 0 and unknown > 0
    assert len({r["insz"] for r in rows}) == len({(r["insz"], r["birth_year"]) for r in rows})


def test_households_have_one_reference_person_and_consistent_sizes(generated):
    root, _ = generated
    demobel = kind_rows(root, "statbel", "demobel", skip_faults=False)
    census = kind_rows(root, "statbel", "census", skip_faults=False)
    clean = {(r["insz"], r["year"]) for r in kind_rows(root, "statbel", "demobel")}
    members = defaultdict(list)
    for r in demobel:
        members[(r["household_id"], r["year"])].append(r)
    for rows in members.values():
        if any((r["insz"], r["year"]) not in clean for r in rows):
            continue  # an injected fault changed a member's INSZ
        refs = [r for r in rows if r["relation_to_reference"] == "01"]
        assert len(refs) == 1
        assert {r["reference_person_insz"] for r in rows} == {refs[0]["insz"]}
    sizes = Counter((r["household_id"], r["year"]) for r in demobel)
    for r in census:
        assert int(r["household_size"]) == sizes[(r["household_id"], r["year"])]


def test_same_seed_and_size_give_byte_identical_files(generated, repo, spark, tmp_path):
    root, _ = generated
    again = tmp_path / "again"
    generate.run(make_ctx(repo, spark, again), PERSONS, SEED, inject_faults=True)

    def digests(base: Path) -> dict[str, str]:
        return {
            str(p.relative_to(base)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(base.rglob("*"))
            if p.is_file()
        }

    first = digests(root / "inbox") | digests(root / "truth")
    assert first == digests(again / "inbox") | digests(again / "truth")


def test_stock_populations_are_a_plausible_share(generated, repo):
    root, _ = generated
    region = {c: r["region"] for c, r in load_codelist(repo / "conf", "municipality").items()}
    truth = read_rows(root / "truth" / "populations.csv")
    demobel = kind_rows(root, "statbel", "demobel", skip_faults=False)
    census = {(r["insz"], r["year"]): r for r in kind_rows(root, "statbel", "census")}
    for year in ("2016", "2019", "2022"):
        adults = {
            r["insz"]
            for r in demobel
            if r["year"] == year
            and region.get(r["municipality"]) == "FL"
            and 18 <= int(r["age"]) <= 64
        }
        index = {r["insz"] for r in truth if r["population"] == year and r["role"] == "index"}
        # The truth's index persons are exactly the selection rule applied to the files.
        selected = {
            i
            for i in adults
            if (i, year) in census
            and census[(i, year)]["labour_market_situation"] not in ("1", "3", "4")
        }
        assert index == selected
        assert 0.10 <= len(index) / len(adults) <= 0.20, (year, len(index), len(adults))
        members = [r for r in truth if r["population"] == year and r["role"] == "member"]
        assert members and all(int(r["from_year"]) >= int(year) for r in members)
    reasons = Counter(r["end_reason"] for r in truth)
    assert {"left_household", "moved_other_region", "died", ""} <= set(reasons)


def test_a_few_collective_households(generated):
    root, _ = generated
    demobel = kind_rows(root, "statbel", "demobel")
    collective = [r for r in demobel if r["household_type"] == "6"]
    assert collective and all(r["household_position"] == "11" for r in collective)
    assert all(r["household_type"] == "6" for r in demobel if r["household_position"] == "11")
    for year in ("2016", "2024"):
        residents = sum(1 for r in demobel if r["year"] == year)
        share = sum(1 for r in collective if r["year"] == year) / residents
        assert 0.001 <= share <= 0.02, (year, share)
    # Some adults move into one during the period.
    first = {}
    for r in sorted(demobel, key=lambda r: r["year"]):
        first.setdefault(r["insz"], r["household_type"])
    assert any(first[r["insz"]] != "6" for r in collective)


def test_people_flow_in_and_out_of_work(generated):
    root, _ = generated
    by_person = defaultdict(list)
    for r in kind_rows(root, "ksz", "ksz_quarterly"):
        by_person[r["insz"]].append((r["quarter"], r["socio_economic_position"][0]))
    into = out_of = stays = 0
    for quarters in by_person.values():
        mains = [m for _, m in sorted(quarters)]
        for a, b in zip(mains, mains[1:], strict=False):
            into += a in "23" and b == "1"
            out_of += a == "1" and b in "23"
            stays += a == b
    steps = sum(len(q) - 1 for q in by_person.values())
    assert into > 0 and out_of > 0
    assert stays / steps > 0.9  # realistic persistence


def test_injected_faults_are_exact_and_real(generated, repo):
    root, _ = generated
    faults = read_rows(root / "truth" / "faults.csv")
    expected = Counter()
    for _kind, fault, n in ROW_FAULTS:
        expected[fault] += n
    expected |= Counter({"latin1_bytes": 3, "truncated_gzip": 1})
    assert Counter(f["kind"] for f in faults) == expected
    positions = load_codelist(repo / "conf", "socio_economic_position")
    for f in faults:
        path = next((root / "inbox").glob(f"*/{f['delivery_id']}/{f['file']}"))
        raw = path.read_bytes()
        if f["kind"] == "truncated_gzip":
            with pytest.raises(EOFError):
                gzip.decompress(raw)
            continue
        text = gzip.decompress(raw) if path.suffix == ".gz" else raw
        line = text.split(b"\n")[int(f["line"]) - 1]
        header = text.split(b"\n")[0].decode().split(";")
        if f["kind"] == "latin1_bytes":
            with pytest.raises(UnicodeDecodeError):
                line.decode("utf-8")
            continue
        fields = line.decode("utf-8").split(";")
        if f["kind"] == "bad_column_count":
            assert len(fields) != len(header)
        elif f["kind"] == "bad_insz":
            assert not (nn.is_valid(fields[0]) or bis.is_valid(fields[0]))
        elif f["kind"] == "unknown_code":
            assert fields[2] not in positions or "99999" in fields
        elif f["kind"] == "bad_date":
            assert "-13-45" in line.decode()
        elif f["kind"] == "duplicate_row":
            assert line == text.split(b"\n")[int(f["line"]) - 2]


def test_existing_inbox_is_not_overwritten_without_force(generated, repo, spark):
    root, _ = generated
    with pytest.raises(generate.InputError, match="already holds deliveries"):
        generate.run(make_ctx(repo, spark, root), PERSONS, SEED)
