"""Treatment: global recoding up the hierarchies, then local suppression, until the SCRA passes.

1. **Global recoding.** While more than ``recode_above`` of the records are in a small cell
   (per year, or longitudinally), the next variable of ``recoding_order`` (round robin)
   climbs one level of its hierarchy, for everyone.
2. **Local suppression.** Each round, every record in a yearly small cell gets the first
   variable of ``suppression_order`` that still has a value set to missing. When no yearly
   small cell is left, every person in a longitudinal small cell gets that variable set to
   missing in all their years. Rounds go on until no small cell is left.

Every step is a function of the key values only (a cell, or a trajectory, is treated as a
whole), recoding merges whole classes and a missing value matches every category, so a
step never lowers any record's fk or any person's long_fk: treatment never increases a
risk (tests/test_scra.py checks it as a property). The treatment fails when a round
changes nothing (small cells whose records have no value left to suppress, i.e. a group
smaller than k) or after ``max_rounds`` rounds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import reduce
from pathlib import Path

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from pseudolink.release.coarsen import classed
from pseudolink.release.rules import ReleaseRules
from pseudolink.release.scra import frequencies, longitudinal_frequencies

ID_COLUMNS = ("population", "year", "person_id", "household_id")
CHANGED = "_changed"  # the flag of the records a suppression round changed
Materialise = Callable[[DataFrame], DataFrame]


def raw_col(qi: str) -> str:
    """The column of the treatment's base frame holding a quasi-identifier's source value."""
    return f"_raw_{qi}"


@dataclass
class Round:
    phase: str  # start, recode, suppress, longitudinal, final
    detail: str
    records_below_k: int
    persons_below_k: int | None  # longitudinally (None: not counted in this round)


@dataclass
class Treatment:
    frame: DataFrame  # ID_COLUMNS + the quasi-identifiers, treated
    start: DataFrame  # the same at the starting levels, untreated
    levels: dict[str, int]
    rounds: list[Round] = field(default_factory=list)
    passed: bool = False
    reason: str = ""


def at_levels(
    base: DataFrame, rules: ReleaseRules, levels: dict[str, int], conf_dir: Path | str
) -> DataFrame:
    """The quasi-identifiers of ``base`` classed at ``levels``."""
    cols: list[Column] = []
    for qi in rules.quasi_identifiers:
        h = rules.qi_hierarchy(qi)
        raw = F.col(raw_col(qi))
        value = classed(raw, h, levels[qi], conf_dir) if h else raw.cast("string")
        cols.append(value.alias(qi))
    return base.select(*ID_COLUMNS, *cols)


def start_levels(rules: ReleaseRules) -> dict[str, int]:
    return {qi: rules.qi_rule(qi).level for qi in rules.quasi_identifiers}


def small_cells(frame: DataFrame, rules: ReleaseRules) -> tuple[int, int]:
    """Records in a yearly small cell, and persons in a longitudinal one."""
    records = frequencies(frame, rules.quasi_identifiers).filter(F.col("fk") < rules.k).count()
    return records, _long_small(frame, rules)


def too_small_groups(frame: DataFrame, k: int) -> list[tuple[int, int, int]]:
    """(population, year, records) of the groups with fewer than k records: no treatment can
    make them pass, since a record with every key missing still counts only its group."""
    sizes = frame.groupBy("population", "year").agg(F.count(F.lit(1)).alias("n"))
    rows = sizes.filter(F.col("n") < k).orderBy("population", "year").collect()
    return [(r["population"], r["year"], r["n"]) for r in rows]


def treat(
    base: DataFrame,
    rules: ReleaseRules,
    conf_dir: Path | str,
    materialise: Materialise,
    log: Callable[[str], None] = lambda _: None,
) -> Treatment:
    """Recode, then suppress, until no small cell is left (or nothing more can be done)."""
    levels = start_levels(rules)
    start = at_levels(base, rules, levels, conf_dir)
    total = max(base.count(), 1)
    result = Treatment(start, start, dict(levels))
    records, persons = small_cells(start, rules)
    result.rounds.append(Round("start", "starting levels", records, persons))
    log(f"SCRA: {records} records in yearly small cells, {persons} persons longitudinally")
    small = too_small_groups(start, rules.k)
    if small:
        shown = ", ".join(f"population {p} year {y}: {n} records" for p, y, n in small[:10])
        result.reason = f"groups smaller than k cannot pass ({shown})"
        result.rounds.append(Round("final", "not treated", records, persons))
        return result
    order = [q for q in rules.recoding_order if rules.qi_hierarchy(q)]
    turn = 0
    frame = start
    while (records + persons) / total > rules.recode_above and len(
        result.rounds
    ) < rules.max_rounds:
        climbable = [q for q in order if levels[q] < rules.max_level(q)]
        if not climbable:
            break
        qi = next(q for q in order[turn % len(order) :] + order if q in climbable)
        turn = order.index(qi) + 1
        levels[qi] += 1
        frame = at_levels(base, rules, levels, conf_dir)
        records, persons = small_cells(frame, rules)
        result.rounds.append(Round("recode", f"{qi} to level {levels[qi]}", records, persons))
        log(f"SCRA: {qi} to level {levels[qi]}: {records} records, {persons} persons small")
    result.levels = dict(levels)
    # Suppression. Each round materialises three frames, so no aggregation is computed
    # twice: the suppressed frame with a flag per changed record, that frame scored with
    # its fk, and (once no yearly small cell is left) the persons in a longitudinal small
    # cell with the variable each is to lose next: one pass over the trajectories per
    # round, reused by the next round's suppression. Persons are counted only once no
    # yearly small cell is left (until then: None in the round's figures).
    scored = materialise(frequencies(frame, rules.quasi_identifiers))
    small: DataFrame | None = None
    while records + (persons or 0) and len(result.rounds) < rules.max_rounds:
        if records:
            marked = suppress_yearly(scored, rules)
            phase = "suppress"
        else:
            plain = scored.drop("fk", "risk")
            if small is None:
                small = materialise(longitudinal_small(plain, rules))
            marked = suppress_longitudinal(plain, rules, small)
            phase = "longitudinal"
        marked = materialise(marked)
        changed = marked.filter(F.col(CHANGED)).count()
        if not changed:
            result.reason = "small cells are left whose records have no value left to suppress"
            break
        scored = materialise(frequencies(marked.drop(CHANGED), rules.quasi_identifiers))
        records = scored.filter(F.col("fk") < rules.k).count()
        persons, small = None, None
        if records == 0 and rules.longitudinal:
            small = materialise(longitudinal_small(scored.drop("fk", "risk"), rules))
            persons = small.count()
        elif records == 0:
            persons = 0
        result.rounds.append(Round(phase, f"{changed} values suppressed", records, persons))
        log(f"SCRA: {phase}: {changed} suppressed; {records} records, {persons} persons small")
    if records + (persons or 0) and not result.reason:
        result.reason = f"small cells are left after max_rounds ({rules.max_rounds}) rounds"
    result.frame = scored.drop("fk", "risk")
    result.passed = records + (persons or 0) == 0 and not result.reason
    result.rounds.append(Round("final", "after treatment", records, persons))
    return result


def _long_small(frame: DataFrame, rules: ReleaseRules) -> int:
    if not rules.longitudinal:
        return 0
    lf = longitudinal_frequencies(frame, rules.quasi_identifiers)
    return lf.filter(F.col("long_fk") < rules.k).count()


def _first_present(order: list[str], present: Callable[[str], Column]) -> Column:
    """The name of the first variable of ``order`` for which ``present`` holds, else null."""
    return F.coalesce(*[F.when(present(q), F.lit(q)) for q in order])


def _suppressed(marked: DataFrame, qis: list[str], changed: Column) -> DataFrame:
    """ID_COLUMNS, the quasi-identifiers with the ``_chosen`` one set to missing, and the
    CHANGED flag."""
    return marked.select(
        *ID_COLUMNS,
        *[
            F.when(F.col("_chosen") == q, F.lit(None).cast("string")).otherwise(F.col(q)).alias(q)
            for q in qis
        ],
        F.coalesce(changed, F.lit(False)).alias(CHANGED),
    )


def suppress_yearly(scored: DataFrame, rules: ReleaseRules) -> DataFrame:
    """In every yearly small cell (``scored`` has fk), the next variable in suppression order
    becomes missing; CHANGED marks the records that lost a value."""
    order = rules.suppression_order
    chosen = F.when(F.col("fk") < rules.k, _first_present(order, lambda q: F.col(q).isNotNull()))
    marked = scored.withColumn("_chosen", chosen)
    return _suppressed(marked, rules.quasi_identifiers, F.col("_chosen").isNotNull())


def longitudinal_small(frame: DataFrame, rules: ReleaseRules) -> DataFrame:
    """The persons in a longitudinal small cell (long_fk < k), with ``_chosen``: the next
    variable in suppression order that they still have in some year (null when none is
    left). The trajectories and the variables present come from one aggregation."""
    qis, order = rules.quasi_identifiers, rules.suppression_order
    has = tuple(F.max(F.col(q).isNotNull()).alias(f"_has_{q}") for q in qis)
    lf = longitudinal_frequencies(frame, qis, extra=has)
    chosen = _first_present(order, lambda q: F.col(f"_has_{q}")).alias("_chosen")
    return lf.filter(F.col("long_fk") < rules.k).select("population", "person_id", chosen)


def suppress_longitudinal(
    frame: DataFrame, rules: ReleaseRules, small: DataFrame | None = None
) -> DataFrame:
    """Every person in a longitudinal small cell (``small``, from :func:`longitudinal_small`
    on ``frame``; computed when not given) loses the next variable in suppression order
    that they still have in some year, in all their years; CHANGED marks the records that
    lost a value."""
    qis = rules.quasi_identifiers
    if small is None:
        small = longitudinal_small(frame, rules)
    chosen = small.filter(F.col("_chosen").isNotNull())
    marked = frame.join(chosen, ["population", "person_id"], "left")
    changed = reduce(
        lambda a, b: a | b, [(F.col("_chosen") == q) & F.col(q).isNotNull() for q in qis]
    )
    return _suppressed(marked, qis, changed)


def information_loss(
    result: Treatment, base: DataFrame, rules: ReleaseRules, conf_dir: Path | str
) -> dict:
    """Suppressions per variable, records changed and classes merged per recoded variable."""
    qis = rules.quasi_identifiers
    key = ["population", "year", "person_id"]
    recoded = at_levels(base, rules, result.levels, conf_dir)
    start, final = result.start, result.frame
    pairs = (
        start.select(*key, *[F.col(q).alias(f"_s_{q}") for q in qis])
        .join(recoded.select(*key, *[F.col(q).alias(f"_r_{q}") for q in qis]), key)
        .join(final.select(*key, *qis), key)
    )
    changed = reduce(lambda a, b: a | b, [~F.col(f"_s_{q}").eqNullSafe(F.col(q)) for q in qis])
    aggs = [F.sum(F.when(changed, 1).otherwise(0)).alias("records_changed")]
    aggs += [
        F.sum(F.when(F.col(f"_r_{q}").isNotNull() & F.col(q).isNull(), 1).otherwise(0)).alias(
            f"sup_{q}"
        )
        for q in qis
    ]
    aggs += [F.count_distinct(F.col(f"_s_{q}")).alias(f"start_{q}") for q in qis]
    aggs += [F.count_distinct(F.col(f"_r_{q}")).alias(f"recoded_{q}") for q in qis]
    row = pairs.agg(*aggs).first()
    assert row is not None
    return {
        "records": pairs.count(),
        "records_changed": int(row["records_changed"] or 0),
        "suppressions": {q: int(row[f"sup_{q}"] or 0) for q in qis},
        "classes_merged": {
            q: int(row[f"start_{q}"]) - int(row[f"recoded_{q}"])
            for q in qis
            if result.levels[q] != rules.qi_rule(q).level
        },
        "levels": dict(result.levels),
    }
