"""On the shared root: link, pseudonymise, keys and reidentify on the generated populations.
The tests that write (a MERGE, reidentify, a rotation) work on a copy of the root."""

from __future__ import annotations

import json
import math
import os
import pwd
import re

import pytest
from pyspark.sql import functions as F
from roots import SHARED_PERSONS
from shared import PASSPHRASE

from pseudolink.errors import PseudolinkError
from pseudolink.keys.keystore import KeystoreError, open_keystore
from pseudolink.pseudo.check import identifier_findings
from pseudolink.pseudo.keytable import assign, integrity
from pseudolink.stages import keys, pseudonymise, reidentify

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def done(shared, monkeypatch_module):
    """link and pseudonymise as the shared root's pipeline ran them (conftest): (ctx, root,
    the link's summary lines, the pseudonymise summary); the passphrase stays set for this
    module's tests."""
    monkeypatch_module.setenv("PSEUDOLINK_PASSPHRASE", PASSPHRASE)
    markers = shared.run.markers
    return shared.ctx, shared.root, markers["link"].lines, markers["pseudonymise"].extra


@pytest.fixture
def copied(shared, spark, tmp_path, monkeypatch):
    """A copy of the shared root for a test that writes: (ctx, root)."""
    monkeypatch.setenv("PSEUDOLINK_PASSPHRASE", PASSPHRASE)
    root = tmp_path / "root"
    return shared.copy(root, spark), root


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


def load(spark, path):
    return spark.read.format("delta").load(path)


def person_map(ctx, spark):
    """insz -> seq, recomputed from the keystore and the key table."""
    store = open_keystore(keys.keystore_path(ctx), PASSPHRASE)
    ids = pseudonymise.identifiers(pseudonymise.tables(ctx))["persons"]
    tokens = pseudonymise.with_tokens(ids, store.person_key(), "native")
    table = load(spark, ctx.catalog.key_table("persons"))
    return tokens.join(table, "token").select(F.col("id").alias("insz"), "seq")


def test_linkage_report_accounts_for_every_bronze_row(done, spark):
    ctx, root, lines, _ = done
    assert lines[0].startswith("link ksz/ksz_quarterly")
    saved = json.loads((root / "trusted" / "linked" / "_report.json").read_text())
    for table in saved["tables"]:
        source, kind = table["table"].split("/")
        bronze = load(spark, f"{ctx.config.zone('bronze')}/{source}/{kind}").count()
        assert sum(table["totals"].values()) == table["bronze_rows"] == bronze > 0
        linked = load(spark, f"{ctx.config.zone('trusted')}/linked/{source}/{kind}")
        assert linked.count() == table["linked_rows"] > 0
        assert table["join"] == "BroadcastHashJoin"
    ksz = next(t for t in saved["tables"] if t["table"] == "ksz/ksz_quarterly")
    assert ksz["totals"]["not_in_population"] > 0 and ksz["totals"]["linked"] > 0
    report = load(spark, f"{ctx.config.zone('trusted')}/linked/_report")
    assert report.filter("linked + outside_window + not_in_population != rows_in").count() == 0


def test_linked_ksz_rows_lie_in_their_window(done, spark):
    ctx, *_ = done
    linked = load(spark, f"{ctx.config.zone('trusted')}/linked/ksz/ksz_quarterly")
    windows = load(spark, ctx.catalog.population("windows"))
    joined = linked.join(windows, ["insz", "population"])
    assert joined.count() == linked.count()
    outside = joined.filter(
        (F.col("quarter") < F.col("retrospective_from"))
        | (F.col("quarter") > F.col("quarterly_to"))
    )
    assert outside.count() == 0
    assert linked.filter("quarter < '2016Q1'").select("population").distinct().count() >= 1


def test_no_identifier_is_left_in_the_pseudonymised_tables(done, spark):
    ctx, root, _, summary = done
    assert set(summary["tables"]) == {
        "populations",
        "moves",
        "ksz_quarterly",
        "vdab_quarterly",
        "vdab_activation",
        "vdab_employment",
        "census",
        "demobel",
        "adi",
    }
    membership = load(spark, ctx.catalog.population("membership"))
    identifiers = membership.select(F.col("insz").alias("v")).union(
        membership.select(F.col("household_id").alias("v"))
    )
    for name in summary["tables"]:
        table = load(spark, ctx.catalog.pseudonymised(name))
        assert not any("insz" in c or c.endswith("_id") for c in table.columns), name
        strings = [f.name for f in table.schema.fields if f.dataType.simpleString() == "string"]
        if not strings:
            continue
        values = table.select(F.explode(F.array(*strings)).alias("v")).distinct()
        assert values.join(identifiers, "v", "left_semi").count() == 0, name
    pop = load(spark, ctx.catalog.pseudonymised("populations"))
    assert pop.count() == membership.count()
    assert pop.filter(F.col("person_seq").isNull() | F.col("household_seq").isNull()).count() == 0


def test_one_number_per_person_in_every_population(done, spark):
    ctx, *_ = done
    pairs = person_map(ctx, spark)
    membership = load(spark, ctx.catalog.population("membership"))
    pop = load(spark, ctx.catalog.pseudonymised("populations"))
    # The same person keeps the same number across populations: the (person, population)
    # pairs map one to one.
    assert pop.select("person_seq", "population").distinct().count() == membership.count()
    assert pairs.count() == pairs.select("seq").distinct().count()
    multi = membership.groupBy("insz").count().filter("count > 1").count()
    assert multi > 0
    assert pop.groupBy("person_seq").count().filter("count > 1").count() == multi
    table = load(spark, ctx.catalog.key_table("persons"))
    counts = integrity(table)
    assert counts["rows"] == counts["tokens"] == counts["numbers"] == counts["max_seq"]
    assert counts["min_seq"] == 1


def test_numbers_carry_no_information(done, spark):
    """Correlation of the number with INSZ order, birth date, sex, population and the
    order persons first appear in: all within 4 standard errors of zero."""
    ctx, *_ = done
    pairs = person_map(ctx, spark)
    membership = load(spark, ctx.catalog.population("membership"))
    first = membership.groupBy("insz").agg(
        F.min("population").alias("population"), F.min("household_id").alias("household")
    )
    frame = pairs.join(first, "insz").select(
        F.col("seq").cast("double").alias("seq"),
        F.col("insz").cast("double").alias("insz_order"),
        F.substring("insz", 1, 6).cast("double").alias("birth"),
        (F.substring("insz", 7, 3).cast("int") % 2).cast("double").alias("male"),
        F.col("population").cast("double").alias("population"),
        F.rank()
        .over(__import__("pyspark").sql.Window.orderBy("household", "insz"))
        .cast("double")
        .alias("input_order"),
    )
    n = frame.count()
    bound = 4 / math.sqrt(n)
    row = frame.select(
        *[
            F.corr("seq", c).alias(c)
            for c in ("insz_order", "birth", "male", "population", "input_order")
        ]
    ).first()
    assert n > SHARED_PERSONS // 10
    for name, r in row.asDict().items():
        assert abs(r) < bound, f"seq correlates with {name}: {r:.4f} (bound {bound:.4f})"


def test_udf_tokens_find_every_number_of_the_native_run(done, spark):
    """The key table was made with native tokens: the UDF's tokens of the same persons
    are all in it (same tokens, so the same numbers)."""
    ctx, *_ = done
    store = open_keystore(keys.keystore_path(ctx), PASSPHRASE)
    ids = pseudonymise.identifiers(pseudonymise.tables(ctx))["persons"]
    by_udf = pseudonymise.with_tokens(ids, store.person_key(), "udf")
    table = load(spark, ctx.catalog.key_table("persons"))
    assert by_udf.count() == table.count()
    assert by_udf.join(table, "token", "left_anti").count() == 0


def test_a_rerun_keeps_every_number_and_adds_none(copied, spark):
    """The key table's MERGE with the same persons again: nothing added, nothing changed."""
    ctx, _ = copied
    before = {tuple(r) for r in person_map(ctx, spark).collect()}
    store = open_keystore(keys.keystore_path(ctx), PASSPHRASE)
    ids = pseudonymise.identifiers(pseudonymise.tables(ctx))["persons"]
    tokens = pseudonymise.with_tokens(ids, store.person_key(), "native")
    path = ctx.catalog.key_table("persons")
    counts = assign(spark, path, tokens, store.key_id, store.numbering_key("persons"))
    assert counts["added"] == 0 and counts["known"] == counts["total"] == len(before)
    assert {tuple(r) for r in person_map(ctx, spark).collect()} == before


def test_identifier_check_finds_insz_like_values_and_household_ids(spark):
    households = spark.createDataFrame([("HH0001",)], "household_id string")
    clean = spark.createDataFrame([(1, "A1", "x")], "person_seq long, code string, note string")
    assert identifier_findings(clean, households) == []
    dirty = spark.createDataFrame(
        [(1, "HH0001", "id 85073003328 here", "85073003328")],
        "person_seq long, code string, note string, insz string",
    )
    found = identifier_findings(dirty, households)
    assert "column 'insz' is an identifier column" in found
    assert "column 'code' holds 1 household id(s)" in found
    assert "column 'note' holds 1 INSZ-like value(s)" in found


def test_reidentify_writes_the_answer_and_an_audit_record(copied, spark, monkeypatch):
    ctx, root = copied
    pairs = dict((seq, insz) for insz, seq in person_map(ctx, spark).limit(3).collect())
    asked = sorted(pairs) + [10**9]
    monkeypatch.setenv("USER", "alice")  # the audit's user comes from the uid, not from here
    monkeypatch.setenv("LOGNAME", "alice")
    monkeypatch.delenv("SUDO_USER", raising=False)
    first = next(iter(pairs.values()))
    reason = f"court order 2026/123 (test) about {first[:6]}-{first[6:9]}-{first[9:]}"
    out = reidentify.run(ctx, "persons", asked, reason, "CASE-1", "Ann Approver")
    lines = out.read_text().splitlines()
    assert lines[0] == "seq;insz"
    assert {int(s): i for s, i in (li.split(";") for li in lines[1:])} == pairs
    audit = (root / "trusted" / "audit" / "reidentify.jsonl").read_text().splitlines()
    record = json.loads(audit[-1])
    assert record["asked"] == asked and record["found"] == sorted(pairs)
    assert record["case"] == "CASE-1" and "court order" in record["reason"]
    assert record["approved_by"] == "Ann Approver"
    assert not any(insz in audit[-1] for insz in pairs.values())
    assert first[:6] not in record["reason"] and "***********" in record["reason"]
    assert record["user"] == pwd.getpwuid(os.getuid()).pw_name != "alice"
    with pytest.raises(PseudolinkError, match="legal reason"):
        reidentify.run(ctx, "persons", asked, "no", "CASE-2", "Ann Approver")
    with pytest.raises(PseudolinkError, match="at most 10"):  # 199 for "everyone" was answered
        reidentify.run(ctx, "persons", list(range(1, 12)), reason, "CASE-3", "Ann Approver")
    me = pwd.getpwuid(os.getuid()).pw_name
    with pytest.raises(PseudolinkError, match="not the one running it"):
        reidentify.run(ctx, "persons", asked, reason, "CASE-4", me)
    assert len((root / "trusted" / "audit" / "reidentify.jsonl").read_text().splitlines()) == len(
        audit
    )  # refused requests are answered with nothing


def test_wrong_passphrase_stops_before_anything_is_written(copied, spark, monkeypatch):
    ctx, _ = copied
    path = ctx.catalog.key_table("persons")
    version = load(spark, path).inputFiles()
    guess = "Q7-not-the-passphrase-x9"  # a string no path or message contains
    monkeypatch.setenv("PSEUDOLINK_PASSPHRASE", guess)
    with pytest.raises(KeystoreError, match="wrong passphrase") as err:
        pseudonymise.run(ctx)
    assert guess not in str(err.value)
    assert load(spark, path).inputFiles() == version


def test_no_secret_passphrase_or_insz_reaches_the_log(done, shared):
    ctx, *_ = done
    store = open_keystore(keys.keystore_path(ctx), PASSPHRASE)
    text = shared.log
    assert "pseudonymise: persons" in text and "link: ksz/ksz_quarterly" in text
    for secret in (PASSPHRASE, store.secret.hex(), store.person_key().hex()):
        assert secret not in text
    assert re.search(r"(?<!\d)\d{11}(?!\d)", text) is None


def test_keys_verify_then_rotate_keeps_every_number(copied, spark):
    ctx, _ = copied
    assert keys.verify(ctx)["persons"]["state"] == "ok"
    old_id = open_keystore(keys.keystore_path(ctx), PASSPHRASE).key_id
    before = {tuple(r) for r in person_map(ctx, spark).collect()}
    old_tokens = {
        r[0] for r in load(spark, ctx.catalog.key_table("persons")).select("token").collect()
    }
    keys.rotate(ctx, pseudonymise.identifiers(pseudonymise.tables(ctx)))
    new_id = open_keystore(keys.keystore_path(ctx), PASSPHRASE).key_id
    assert new_id != old_id
    assert {tuple(r) for r in person_map(ctx, spark).collect()} == before
    new_tokens = {
        r[0] for r in load(spark, ctx.catalog.key_table("persons")).select("token").collect()
    }
    assert not old_tokens & new_tokens
    assert keys.verify(ctx)["households"]["state"] == "ok"


def test_numbering_is_keyed_and_reproducible(spark, tmp_path):
    """Same secret and tokens: the same numbers in a fresh key table (a rerun after a crash
    before the MERGE); another secret: another order."""
    from pseudolink.keys.keystore import new_keystore

    tokens = spark.createDataFrame([(f"{i:064x}",) for i in range(1, 41)], "token string")
    store, other = new_keystore(), new_keystore()

    def numbers(name, keystore):
        path = str(tmp_path / name)
        assign(spark, path, tokens, keystore.key_id, keystore.numbering_key("persons"))
        rows = spark.read.format("delta").load(path).select("token", "seq").collect()
        return {r["token"]: r["seq"] for r in rows}

    first, again = numbers("a", store), numbers("b", store)
    assert first == again and sorted(first.values()) == list(range(1, 41))
    assert numbers("c", other) != first
    assert store.numbering_key("persons") != store.numbering_key("households")
