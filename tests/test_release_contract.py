"""The release holds exactly what deliberation 26/050 authorises (conf/authorisation.yaml).

- The config: a table or column the contract does not list, a class finer than it
  allows, or k below its floor is refused when conf/release.yaml is loaded, naming the
  paragraph.
- The written tables: checked on the data of the shared root's release (end_reason,
  activation_start, the VDAB employment quarter, no column outside the contract), and the
  job's own check refuses values outside a column's class.
- The files: no released or pseudonymised file's row order follows the birth date or the
  Statbel household id (rank correlation within noise).
- The study is one-off (§7): on a purged root a release is refused without
  --corrected-rerelease.
"""

from __future__ import annotations

import math
import re
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml
from pyspark.sql import functions as F
from shared import PASSPHRASE

from pseudolink.errors import ConfigError, InputError
from pseudolink.release.contract import load_contract, violations
from pseudolink.release.rules import load_rules


def conf_with(repo: Path, tmp_path: Path, edit) -> Path:
    """A copy of conf/ whose release.yaml ``edit`` changed (parsed, not as text)."""
    conf = tmp_path / "conf"
    shutil.copytree(repo / "conf", conf)
    path = conf / "release.yaml"
    data = yaml.safe_load(path.read_text())
    edit(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return conf


def test_the_shipped_release_config_is_within_the_contract(repo):
    rules = load_rules(repo / "conf")
    contract = load_contract(repo / "conf")
    for name, table in rules.tables.items():
        assert set(table.columns) <= set(contract.tables[name].columns), name
    assert rules.k >= contract.k_floor


def test_an_unauthorised_column_is_refused_naming_the_paragraph(repo, tmp_path):
    def edit(data):
        data["tables"]["demobel"]["columns"]["birth_date"] = {"comment": "exact birth date"}

    with pytest.raises(ConfigError) as err:
        load_rules(conf_with(repo, tmp_path, edit))
    msg = str(err.value)
    assert "release.yaml" in msg and "tables.demobel.columns.birth_date" in msg
    assert "not authorised by deliberation 26/050" in msg and "§4" in msg


def test_a_finer_class_is_refused_naming_the_paragraph(repo, tmp_path):
    def arrival_by_year(data):
        data["hierarchies"]["arrival_year"]["levels"][0]["width"] = 1

    with pytest.raises(ConfigError) as err:
        load_rules(conf_with(repo, tmp_path, arrival_by_year))
    msg = str(err.value)
    assert "tables.persons.columns.year_of_arrival" in msg
    assert "klassen van vijf jaar" in msg and "finer than" in msg

    def employment_by_month(data):
        cols = data["tables"]["vdab_employment"]["columns"]
        cols["start_quarter"]["hierarchy"] = "month"

    with pytest.raises(ConfigError) as err:
        load_rules(conf_with(repo, tmp_path / "b", employment_by_month))
    assert "start_quarter" in str(err.value) and "§24" in str(err.value)

    def municipality(data):
        data["tables"]["demobel"]["columns"]["residence"]["level"] = 0

    with pytest.raises(ConfigError) as err:
        load_rules(conf_with(repo, tmp_path / "c", municipality))
    assert "residence" in str(err.value) and "de woonplaats" in str(err.value)

    def destination(data):
        del data["tables"]["household_membership"]["columns"]["end_reason"]["hierarchy"]

    with pytest.raises(ConfigError) as err:
        load_rules(conf_with(repo, tmp_path / "d", destination))
    assert "end_reason" in str(err.value) and "footnote 3" in str(err.value)


def test_k_below_the_floor_is_refused_naming_the_paragraph(repo, tmp_path):
    def low_k(data):
        data["k"] = 3

    with pytest.raises(ConfigError) as err:
        load_rules(conf_with(repo, tmp_path, low_k))
    assert "k: 3 is below the floor 5" in str(err.value) and "§9" in str(err.value)


def test_the_check_of_written_tables_finds_values_outside_their_class(spark, repo):
    contract = load_contract(repo / "conf")
    df = spark.createDataFrame(
        [
            (2016, 1, "2016-03", "died", "12-20", 7),
            (2016, 2, "2016Q1", "left_household", "20-24", 7),
            (2019, None, None, None, None, 7),
        ],
        "population int, person_id long, start_quarter string, end_reason string, "
        "age_class string, extra int",
    )
    emp = violations(
        df.select("population", "person_id", "start_quarter"),
        "vdab_employment",
        contract,
        repo / "conf",
    )
    assert emp == [
        "column start_quarter: 1 value(s) outside 'a quarter [2016, 2024]' (§24 VDAB "
        "deelt per betrokkene en per kwartaal mee: the quarter, never a date or month)"
    ]
    hm = violations(
        df.select("population", "person_id", "end_reason", "extra"),
        "household_membership",
        contract,
        repo / "conf",
    )
    assert any(v.startswith("column extra is not authorised") for v in hm)
    assert any(v.startswith("column end_reason: 1 value(s)") for v in hm)
    demo = violations(df.select("population", "age_class"), "demobel", contract, repo / "conf")
    assert demo == [
        "column age_class: 1 value(s) outside 'classes of at least 5' "
        f"({contract.tables['demobel'].columns['age_class'].paragraph})"
    ]


# --- on the shared root's release ------------------------------------------------------


def test_no_column_or_value_outside_the_contract(released, spark, repo):
    ctx, root, outcome, rules = released
    contract = load_contract(repo / "conf")
    for name in outcome.tables:
        df = spark.read.format("delta").load(str(root / "release" / outcome.release_id / name))
        assert violations(df, name, contract, repo / "conf") == [], name


def test_end_reason_says_only_what_footnotes_2_and_3_allow(released, spark):
    ctx, root, outcome, _ = released
    m = spark.read.format("delta").load(
        str(root / "release" / outcome.release_id / "household_membership")
    )
    values = {r[0] for r in m.select("end_reason").distinct().collect()}
    assert values <= {None, "left_household", "moved_out", "ended"}
    assert {"left_household", "moved_out"} <= values
    # Every mover has the year of the move in moves, nothing else about it.
    moves = spark.read.format("delta").load(str(root / "release" / outcome.release_id / "moves"))
    assert moves.columns == ["population", "person_id", "household_id", "move_year"]
    movers = m.filter(F.col("end_reason") == "moved_out").select("population", "person_id")
    assert movers.exceptAll(moves.select("population", "person_id")).count() == 0


def test_activation_start_only_for_persons_active_at_the_reference_date_once_capped(
    released, spark
):
    ctx, root, outcome, _ = released
    folder = root / "release" / outcome.release_id
    persons = spark.read.format("delta").load(str(folder / "persons"))
    assert "activation_start" not in spark.read.format("delta").load(str(folder / "ksz")).columns
    rows = persons.filter(F.col("activation_start").isNotNull()).collect()
    assert rows, "no person with an activation action at the reference date"
    for r in rows:
        # Only persons followed from the reference date (joiners come later).
        assert r.first_year == r.population
        value = r.activation_start
        if value != ">3y":
            assert re.fullmatch(r"\d{4}-\d{2}", value)
            assert f"{r.population - 3}-01" <= value < f"{r.population}-01"
    # Once per person and population.
    assert persons.count() == persons.select("population", "person_id").distinct().count()


def test_vdab_employment_is_per_quarter(released, spark):
    ctx, root, outcome, _ = released
    emp = spark.read.format("delta").load(
        str(root / "release" / outcome.release_id / "vdab_employment")
    )
    assert "start_month" not in emp.columns
    bad = emp.filter(~F.col("start_quarter").rlike(r"^\d{4}Q[1-4]$")).count()
    assert emp.count() > 0 and bad == 0


def _spearman(xs: list[float], ys: list[float]) -> float:
    import pandas as pd

    return float(pd.Series(xs).rank().corr(pd.Series(ys).rank()))


def person_facts(shared, spark) -> dict[int, tuple[str, str]]:
    """person sequence number -> (birth date, Statbel household id), through the key table
    (the tokens of the populations' INSZ under the keystore's key)."""
    from pseudolink.pseudo.tokens import token
    from pseudolink.stages import keys

    mp = pytest.MonkeyPatch()
    mp.setenv("PSEUDOLINK_PASSPHRASE", PASSPHRASE)
    try:
        key = keys.open_for_run(shared.ctx).person_key()
    finally:
        mp.undo()
    root = shared.root
    members = spark.read.format("delta").load(str(root / "trusted/populations/membership"))
    ids = members.select("insz").distinct().withColumn("token", token(F.col("insz"), key))
    table = spark.read.format("delta").load(str(root / "trusted/keys/persons"))
    demobel = spark.read.format("delta").load(str(root / "bronze/statbel/demobel"))
    facts = demobel.groupBy("insz").agg(
        F.substring(F.min("birth_date").cast("string"), 3, 8).alias("born"),
        F.min("household_id").alias("hh"),
    )
    rows = ids.join(table, "token").join(facts, "insz").select("seq", "born", "hh").collect()
    return {r.seq: (r.born, r.hh) for r in rows}


def files_in_order(folder: Path, column: str) -> list[tuple[Path, list[int]]]:
    out = []
    for f in sorted(folder.rglob("*.parquet")):
        if "_delta_log" in f.parts:
            continue
        ids = pq.read_table(f, columns=[column]).column(column).to_pylist()
        out.append((f, ids))
    return out


def test_no_file_s_row_order_follows_birth_date_or_household(shared, released, spark):
    """Row position against birth date and the Statbel household id, per file with enough
    rows: |Spearman rho| within noise (4 / sqrt(n), at least 0.2). Upstream, rows come in
    INSZ order (a join's or a sort's), which gives each person's birth date."""
    facts = person_facts(shared, spark)
    _, root, outcome, _ = released
    checked = 0
    folders = [
        (root / "release" / outcome.release_id / name, "person_id") for name in outcome.tables
    ] + [
        (d, "person_seq")
        for d in sorted((root / "trusted/pseudonymised").iterdir())
        if d.is_dir() and (d / "_delta_log").exists()
    ]
    for folder, column in folders:
        for f, ids in files_in_order(folder, column):
            for k, what in ((0, "birth date"), (1, "household id")):
                known = [(i, facts[s][k]) for i, s in enumerate(ids) if facts.get(s, (0, 0))[k]]
                if len(known) < 50:
                    continue
                limit = max(0.2, 4 / math.sqrt(len(known)))
                pos = [float(i) for i, _ in known]
                rho = _spearman(pos, [float(r) for r in _ranks([v for _, v in known])])
                assert abs(rho) < limit, f"{f}: rows follow the {what} (rho {rho:.2f})"
                checked += 1
    assert checked >= 10


def _ranks(values: list[str]) -> list[int]:
    order = {v: i for i, v in enumerate(sorted(set(values)))}
    return [order[v] for v in values]


def test_a_second_release_after_the_purge_is_refused(shared, spark, tmp_path):
    from pseudolink.purged import write_state
    from pseudolink.stages import release

    ctx = shared.copy(tmp_path / "root", spark)
    write_state(ctx, {"state": "done", "release_id": "x"})
    with pytest.raises(InputError) as err:
        release.run(ctx, "again")
    msg = str(err.value)
    assert "eenmalig onderzoek" in msg and "--corrected-rerelease" in msg
    assert not (tmp_path / "root" / "release" / "again").exists()


def test_no_ksz_or_vdab_row_after_the_quarter_the_follow_up_ended(shared, spark):
    """Footnotes 2 and 3: a person who moves out or leaves is no longer followed. Checked on
    the linked data against the DEMOBEL events themselves (not the windows): no KSZ or VDAB
    row of a population is dated after the quarter of the event that ended the person's
    follow-up in it (their own death, emigration, striking off or move out of the region,
    or a member's move into another household)."""
    root = shared.root

    def delta(path):
        return spark.read.format("delta").load(str(root / path))

    members = delta("trusted/populations/membership").filter(F.col("end_reason").isNotNull())
    events = delta("bronze/statbel/demobel_events")
    own = F.col("e.event").isin("DEATH", "EMIGRATION", "STRUCK_OFF")
    out_of_region = (F.col("e.event") == "MOVE") & (F.col("e.destination") != "FL")
    other_household = (F.col("e.event") == "MOVE") & (
        F.col("e.household_id") != F.col("m.household_id")
    )
    ending = (
        F.when(F.col("m.end_reason").isin("died", "moved_abroad", "moved_unknown"), own)
        .when(F.col("m.end_reason") == "moved_other_region", out_of_region)
        .when(F.col("m.end_reason") == "left_household", other_household)
        .otherwise(F.lit(False))
    )
    ended = (
        members.alias("m")
        .join(events.alias("e"), "insz")
        .filter((F.year("e.event_date") == F.col("m.valid_to")) & ending)
        .groupBy("insz", "population")
        .agg(F.min("e.event_date").alias("ended"))
        .withColumn("end_q", F.format_string("%04dQ%d", F.year("ended"), F.quarter("ended")))
    )
    assert ended.count() > 20
    tables = {
        "ksz/ksz_quarterly": F.col("quarter"),
        "vdab/vdab_quarterly": F.col("quarter"),
        "vdab/vdab_activation": F.format_string(
            "%04dQ%d", F.year("start_date"), F.quarter("start_date")
        ),
        "vdab/vdab_employment": F.format_string(
            "%04dQ%d", F.year("start_date"), F.quarter("start_date")
        ),
    }
    for path, dated in tables.items():
        rows = delta(f"trusted/linked/{path}").select(
            "insz", F.col("population").cast("int").alias("population"), dated.alias("q")
        )
        late = rows.join(ended, ["insz", "population"]).filter(F.col("q") > F.col("end_q"))
        assert late.count() == 0, f"{path}: rows after the quarter the follow-up ended"
