"""Treatment against the intruder model of conf/release.yaml: global recoding, then local
suppression, until every scenario passes.

The unit of the person and household scenarios is one row per person and population with
the keys of the reference date (:func:`person_keys`): the person's first year followed,
the population's reference date for its index persons. Time-invariant keys are released
once per person (table ``persons``), so no other year can give them back; a key of an
annual table suppressed here is suppressed in every year where the person had the same
value (:func:`masks`).

1. **Global recoding** (:func:`choose_levels`), as ARX does: every combination of levels
   of the keys with a hierarchy, from their level in ``tables`` up to ``recoding.coarsest``,
   is a node of a small lattice. A node's loss is the mean over those keys of
   1 - H(level) / H(start) (H: the entropy of the key's classes). The coarsest node is
   evaluated first: when it leaves more than ``suppression_limit`` of the persons below k
   in a person scenario, none is within the limit and it, leaving the fewest, is taken;
   otherwise nodes are evaluated in order of loss and the first within the limit is taken.
   A level leaving fewer than two classes is never chosen.
2. **Local suppression** (:func:`suppress_cells`), as sdcMicro's ``localSuppression`` with
   ``importance``: per key combination below k, for each suppressible key still present,
   the number of records that would share the combination without it (``fk`` without the
   key: exact matches); the least important key that lifts it to k is suppressed, and when
   none does, the key that lifts it most (ties: the least important). A key's ghosts that
   are keys themselves are suppressed with it; a ``fixed`` value goes with the key that
   gives it (:func:`follow_fixed`). In the events scenario the kind of the end of
   follow-up is a candidate too (:func:`event_candidate`), household-wide
   (:func:`events_wide`). A round treats the failing household scenarios until they first
   pass, and from then on every failing scenario, persons first (each leaving alone the
   units an earlier one changed in the round); rounds go on until every scenario passes,
   nothing changes, or ``max_rounds``. After a round only the persons below k are counted
   again (:func:`rescore`); at the end the scenarios whose counts a figure needs are
   counted exactly once more (``exact`` of :func:`treat_persons`).
3. The household scenario: a household below k loses its suppressible household keys and
   then its members' ``member_keys``, least important first, for all its members at once
   (so the household's list of that key becomes missing and matches every household).
4. Row scenarios (an employer, a provider): the rows of a table, treated as in 2.

Suppression only adds missing values, and a missing value matches every category, so no
unit's frequency goes down by it.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import reduce
from pathlib import Path

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from pseudolink.release.build import EVENT, EVENT_KIND, NO_EVENT, ROW_KEY, key_column
from pseudolink.release.rules import ReleaseRules, Scenario
from pseudolink.release.scra import MISSING, encoded, frequencies

ID = ["population", "person_id"]
# Released columns that give the kind of the end of follow-up (persons, household_membership)
EVENT_COLUMNS = ("moved_out", "end_reason")
HOUSEHOLD_FK = "_fk_household"
Materialise = Callable[[DataFrame], DataFrame]


def fk_col(scenario: str) -> str:
    return f"_fk_{scenario}"


@dataclass
class Round:
    phase: str  # start, suppress, final
    scenario: str
    detail: str
    below_k: dict[str, int]  # units below k per scenario, after the round


@dataclass
class Node:
    levels: dict[str, int]
    loss: float  # information loss of the recoding (0: none, 1: every class merged)
    persons_below_k: int | None = None
    share: float | None = None
    chosen: bool = False


@dataclass
class Treatment:
    levels: dict[str, int]
    start: DataFrame  # person keys at the starting levels, untreated
    recoded: DataFrame  # at the chosen levels, untreated
    frame: DataFrame  # at the chosen levels, suppressed
    rows: dict[str, DataFrame] = field(default_factory=dict)  # row scenarios' tables, treated
    lattice: list[Node] = field(default_factory=list)
    rounds: list[Round] = field(default_factory=list)
    passed: bool = False
    reason: str = ""


# --- the person frame ---------------------------------------------------------------------


def person_keys(
    reference: DataFrame,
    events: DataFrame,
    rules: ReleaseRules,
    conf_dir: Path | str,
    levels: dict[str, int],
) -> DataFrame:
    """Per person and population: ``household_id`` and ``ref_year`` of the reference row,
    the event key and every person key classed at ``levels`` (reference: the sources at
    the first year followed, :func:`pseudolink.release.build.reference_rows`)."""
    keys = [
        key_column(q, rules.tables[rules.keys[q].table], rules, conf_dir, levels)
        for q in rules.person_keys()
    ]
    return reference.join(events, ID, "left").select(
        *ID, "household_id", "ref_year", EVENT, EVENT_KIND, *keys
    )


def start_levels(rules: ReleaseRules) -> dict[str, int]:
    return {q: rules.key_rule(q).level for q in rules.keys}


def scenario_keys(sc: Scenario) -> list[str]:
    return [*sc.keys, EVENT, EVENT_KIND] if sc.event else list(sc.keys)


def person_scenarios(rules: ReleaseRules) -> dict[str, Scenario]:
    return {n: s for n, s in rules.scenarios.items() if s.unit == "person"}


def score(
    frame: DataFrame,
    rules: ReleaseRules,
    households: bool = True,
    materialise: Materialise | None = None,
    persons: list[str] | None = None,
) -> DataFrame:
    """``frame`` with ``_fk_<scenario>`` for every person scenario (``persons``: those
    named only) and (``households``) household scenario (null for a person outside a
    household scenario's units). ``materialise``: for the households' keys
    (:func:`household_fk`)."""
    # Each scenario's frequencies are computed from ``frame`` alone and joined on: chained
    # on the previous scenario's output, each pattern listing (a Spark job) would compute
    # every scenario before it once more.
    out = frame
    for name, sc in rules.scenarios.items():
        if sc.unit == "person" and (persons is None or name in persons):
            fk = frequencies(out, scenario_keys(sc), by=("population",), counted=frame)
            out = fk.drop("risk").withColumnRenamed("fk", fk_col(name))
        elif sc.unit == "household" and households:
            counted = household_fk(frame, sc, fk_col(name), materialise)
            out = with_household_fk(out, counted, fk_col(name))
    return out


def rescore(
    frame: DataFrame, rules: ReleaseRules, materialise: Materialise | None = None
) -> DataFrame:
    """``frame``, scored by :func:`score` before a round of suppression, scored anew after
    it. Suppression only adds missing values, which match every category, so no person's
    frequency in a person scenario went down: only the persons below k there are counted
    again (against every person), the others keep their count, at least k (a lower bound:
    :func:`score` gives the exact one). Households are counted anew, all of them: a
    member's value suppressed by a person scenario changes their household's lists."""
    out = frame
    for name, sc in rules.scenarios.items():
        fk = fk_col(name)
        if sc.unit == "person":
            looking = F.col(fk) < rules.scenario_k(name)
            kept = out.withColumnRenamed(fk, "_fk_kept")
            fresh = frequencies(
                kept, scenario_keys(sc), by=("population",), counted=frame, looking=looking
            )
            out = fresh.withColumn(fk, F.coalesce(F.col("fk"), F.col("_fk_kept"))).drop(
                "fk", "risk", "_fk_kept"
            )
        elif sc.unit == "household":
            out = with_household_fk(out.drop(fk), household_fk(frame, sc, fk, materialise), fk)
    return out


def household_keys(frame: DataFrame, sc: Scenario, fk: str | None = None) -> DataFrame:
    """One row per household of the reference date (``ref_year`` = ``population``): its
    ``keys`` (``_h_<key>``) and, per member key, the sorted list of its members' values
    (``_m_<key>``), with the sorted list of their combinations (``_m_all``); with ``fk``,
    the household's value of that column. A list is missing (matching every household,
    as a missing value does) only when the value is missing for every member; a partly
    missing list is compared as it is (fewer matches: the safe side). With two member
    keys, the combinations are missing too when one of them is missing for every member:
    they then hold nothing the other key's list does not."""
    at_ref = F.col("ref_year") == F.col("population")

    def listed(cols: list[str]) -> Column:
        each = F.concat_ws("\u001f", *[F.coalesce(F.col(c), F.lit(MISSING)) for c in cols])
        some = reduce(lambda a, b: a | b, [F.col(c).isNotNull() for c in cols])
        values = F.sort_array(F.collect_list(each))
        return F.when(F.max(some), F.concat_ws("\u001d", values))

    parts = [F.max(k).alias(f"_h_{k}") for k in sc.keys]
    parts += [listed([q]).alias(f"_m_{q}") for q in sc.member_keys]
    if len(sc.member_keys) > 1:
        combined = listed(sc.member_keys)
        if len(sc.member_keys) == 2:
            every = [F.max(F.col(q).isNotNull()) for q in sc.member_keys]
            combined = F.when(reduce(lambda a, b: a & b, every), combined)
        parts.append(combined.alias("_m_all"))
    if fk is not None:
        parts.append(F.max(fk).alias(fk))
        if "_changed" in frame.columns:  # a member changed earlier in the round: stale fk
            parts.append(F.max("_changed").alias("_changed"))
    return frame.filter(at_ref).groupBy("population", "household_id").agg(*parts)


def household_fk(
    frame: DataFrame, sc: Scenario, out: str, materialise: Materialise | None = None
) -> DataFrame:
    """Per household of the reference date: ``out``, the households of the population
    matching it on its :func:`household_keys` (a missing one matching every value).
    ``materialise``: the households' keys are materialised (read twice: for their missing
    patterns, then counted)."""
    per = household_keys(frame, sc)
    per = per if materialise is None else materialise(per)
    keys = [c for c in per.columns if c.startswith(("_h_", "_m_"))]
    return frequencies(per, keys, by=("population",)).select(
        "population", "household_id", F.col("fk").alias(out)
    )


def with_household_fk(frame: DataFrame, fk: DataFrame, out: str) -> DataFrame:
    """``frame`` with ``out`` of :func:`household_fk` on its rows at the reference date."""
    joined = frame.join(fk, ["population", "household_id"], "left")
    at_ref = F.col("ref_year") == F.col("population")
    return joined.withColumn(out, F.when(at_ref, F.col(out)))


def household_frequencies(frame: DataFrame, sc: Scenario, out: str) -> DataFrame:
    """``frame`` with ``out`` (:func:`household_fk`) for the persons of a household at the
    reference date."""
    return with_household_fk(frame, household_fk(frame, sc, out), out)


def below_k(scored: DataFrame, rules: ReleaseRules) -> dict[str, int]:
    """Units below k per person or household scenario (households, not their members)."""
    aggs = []
    for name, sc in rules.scenarios.items():
        k, fk = rules.scenario_k(name), F.col(fk_col(name))
        if sc.unit == "person":
            aggs.append(F.sum(F.when(fk < k, 1).otherwise(0)).alias(name))
        elif sc.unit == "household":
            hh = F.concat_ws(":", F.col("population").cast("string"), F.col("household_id"))
            aggs.append(F.count_distinct(F.when(fk < k, hh)).alias(name))
    row = scored.agg(*aggs).first()
    assert row is not None
    return {n: int(row[n] or 0) for n in row.asDict()}


# --- global recoding ----------------------------------------------------------------------


def entropy(counts: list[int]) -> float:
    total = sum(counts)
    return -sum(c / total * math.log2(c / total) for c in counts if c) if total else 0.0


def class_counts(frame: DataFrame, columns: dict[str, str]) -> dict[str, list[int]]:
    """Per column of ``frame`` (``columns``: column -> name), the persons in each class
    (missing left out), in one aggregation: the levels of one key are grouped together
    (a coarser class is a union of finer ones, so there are no more groups than the
    finest level has classes)."""
    rows = frame.groupBy(*columns).count().collect()
    out: dict[str, list[int]] = {}
    for c, name in columns.items():
        per: dict[str, int] = {}
        for r in rows:
            if r[c] is not None:
                per[r[c]] = per.get(r[c], 0) + int(r["count"])
        out[name] = list(per.values())
    return out


def choose_levels(
    reference: DataFrame,
    events: DataFrame,
    rules: ReleaseRules,
    conf_dir: Path | str,
    log: Callable[[str], None] = lambda _: None,
    materialise: Materialise | None = None,
    kept: dict[str, DataFrame] | None = None,
) -> tuple[dict[str, int], list[Node]]:
    """The levels of the least-loss lattice node within the suppression limit (module doc).
    With ``materialise`` and ``kept``, each node's person keys and person-scenario counts
    are materialised and the chosen node's are put in ``kept["scored"]`` (the treatment
    starts from them instead of counting them again).

    Coarsening a key never lowers a person's fk (a coarser class is a union of finer ones,
    checked when the rules are loaded), so the persons below k at a node are at least those
    at any coarser node. The coarsest node (``top``) is evaluated first: when even it
    leaves more than the limit, none is within it and ``top``, leaving the fewest, is taken
    without evaluating the others (a finer node could at most tie with it; looking for a
    tie would evaluate every finer neighbour of ``top``). Otherwise the nodes are evaluated
    in order of loss up to the first within the limit. Nodes not evaluated keep
    ``persons_below_k`` None."""
    start = start_levels(rules)
    recodable = [q for q in rules.person_keys() if rules.max_level(q) > start[q]]
    if not recodable:
        return start, []
    entropies: dict[tuple[str, int], float] = {}
    classes: dict[tuple[str, int], int] = {}
    for q in recodable:
        spans = range(start[q], rules.max_level(q) + 1)
        table = rules.tables[rules.keys[q].table]
        wide = reference.select(
            *[
                key_column(q, table, rules, conf_dir, {**start, q: lv}).alias(f"_l{lv}")
                for lv in spans
            ]
        )
        counts = class_counts(wide, {f"_l{lv}": str(lv) for lv in spans})
        for level in spans:
            entropies[(q, level)] = entropy(counts[str(level)])
            classes[(q, level)] = len(counts[str(level)])
    # A level leaving fewer than two classes is never chosen (nor any coarser one).
    top_of = {
        q: max(
            lv
            for lv in range(start[q], rules.max_level(q) + 1)
            if lv == start[q] or classes[(q, lv)] >= 2
        )
        for q in recodable
    }
    nodes: dict[tuple[int, ...], Node] = {}
    for combo in itertools.product(*[range(start[q], top_of[q] + 1) for q in recodable]):
        levels = {**start, **dict(zip(recodable, combo, strict=True))}
        if any(classes[(q, levels[q])] < 2 for q in recodable):
            continue
        loss = sum(
            1 - entropies[(q, levels[q])] / entropies[(q, start[q])]
            if entropies[(q, start[q])]
            else 0.0
            for q in recodable
        ) / len(recodable)
        nodes[combo] = Node(levels, round(loss, 4))
    if not nodes:
        return start, []
    ordered = sorted(nodes.values(), key=lambda n: n.loss)
    scores: dict[int, DataFrame] = {}
    small = reduce(
        lambda a, b: a | b,
        [F.col(fk_col(n)) < rules.scenario_k(n) for n in person_scenarios(rules)],
    )

    def evaluate(node: Node) -> Node:
        if node.persons_below_k is not None:
            return node
        frame = person_keys(reference, events, rules, conf_dir, node.levels)
        scored = score(frame, rules, households=False)  # the limit counts person scenarios
        if materialise is not None and kept is not None:
            scored = materialise(scored)
            scores[id(node)] = scored
        row = scored.agg(
            F.count(F.lit(1)).alias("n"), F.sum(F.when(small, 1).otherwise(0)).alias("small")
        ).first()
        assert row is not None
        node.persons_below_k = int(row["small"] or 0)
        node.share = node.persons_below_k / max(int(row["n"]), 1)
        shown = ", ".join(f"{q} {node.levels[q]}" for q in recodable)
        log(f"SCRA: levels {shown}: {node.persons_below_k} persons below k (loss {node.loss})")
        return node

    def within(node: Node) -> bool:
        return evaluate(node).share <= rules.recoding.suppression_limit  # type: ignore[operator]

    top = nodes[tuple(top_of[q] for q in recodable)]
    best = next(n for n in ordered if within(n)) if within(top) else top
    best.chosen = True
    if kept is not None and id(best) in scores:
        kept["scored"] = scores[id(best)]
    return best.levels, ordered


# --- local suppression --------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """A key local suppression may remove, its importance, and what goes with it."""

    key: str
    importance: int
    removes: tuple[str, ...]  # the key and its ghosts among the scenario's keys
    fixed: tuple[str, ...] = ()  # values another key determines: never suppressed


def person_candidates(rules: ReleaseRules, keys: list[str]) -> list[Candidate]:
    out = []
    for q in keys:
        rule = rules.keys.get(q)
        if rule is None or not rule.suppress:
            continue
        ghosts = [g.split(".", 1)[1] for g in rule.ghosts]
        removes = (q, *[g for g in ghosts if g in keys and g != q])
        out.append(Candidate(q, rule.importance, removes, tuple(rule.fixed)))
    return out


def changed_before(scored: DataFrame) -> Column:
    """True on the rows an earlier scenario of the same round changed (``_changed``)."""
    return F.col("_changed") if "_changed" in scored.columns else F.lit(False)


def event_candidate(sc: Scenario) -> Candidate:
    """The kind of the end of follow-up (the year is never suppressed: the rows show it)."""
    return Candidate(EVENT_KIND, sc.event_importance, (EVENT_KIND,), (NO_EVENT,))


def choose(
    scored: DataFrame,
    keys: list[str],
    candidates: list[Candidate],
    fk: str,
    k: int,
    by: tuple[str, ...] = ("population",),
) -> DataFrame:
    """``scored`` with ``_chosen``: in every combination of ``keys`` below k (``fk``), the
    candidate it loses (module doc); null elsewhere, and where ``_changed`` is true."""
    enc = [f"_e{i}" for i in range(len(keys))]
    index = {q: i for i, q in enumerate(keys)}
    coded = scored.select("*", *encoded(keys))
    # A row another scenario changed in this round keeps its stale fk: it is not treated
    # again before it is scored anew (but it still counts as a match).
    before = changed_before(scored)
    cells = coded.groupBy(*by, *enc).agg(
        F.count(F.lit(1)).alias("_n"), F.min(F.when(~before, F.col(fk))).alias("_fk")
    )
    # Each cell once per candidate, its keys with the candidate's removed ones masked.
    per_candidate = F.array(
        *[
            F.struct(
                F.lit(c.key).alias("q"),
                F.lit(c.importance).alias("imp"),
                F.concat_ws(
                    "\u001f",
                    *[F.lit(MISSING) if q in c.removes else F.col(enc[index[q]]) for q in keys],
                ).alias("masked"),
                (~F.col(enc[index[c.key]]).isin(MISSING, *c.fixed)).alias("present"),
            )
            for c in candidates
        ]
    )
    exploded = cells.select(*by, *enc, "_n", "_fk", F.explode(per_candidate).alias("_c")).select(
        *by, *enc, "_n", "_fk", "_c.*"
    )
    unsafe = exploded.filter((F.col("_fk") < k) & F.col("present"))
    # Summed only where a cell below k looks (after the first rounds, a few thousand of
    # the hundreds of thousands of combinations).
    wanted = unsafe.select(*by, "q", "masked").distinct()
    without = (
        exploded.join(wanted, [*by, "q", "masked"], "left_semi")
        .groupBy(*by, "q", "masked")
        .agg(F.sum("_n").alias("_without"))
    )
    options = unsafe.join(without, [*by, "q", "masked"])
    ok = F.col("_without") >= k
    rank = F.struct(
        ok.alias("ok"),
        F.when(ok, F.col("imp")).otherwise(F.col("_without")).alias("primary"),
        F.col("imp").alias("imp"),
        F.col("q").alias("q"),
    )
    choice = (
        options.groupBy(*by, *enc)
        .agg(F.max(rank).alias("_best"))
        .select(*by, *enc, F.col("_best.q").alias("_chosen"))
    )
    return (
        coded.join(choice, [*by, *enc], "left")
        .withColumn("_chosen", F.when(~before, F.col("_chosen")))
        .drop(*enc)
    )


def suppress_cells(
    scored: DataFrame,
    keys: list[str],
    candidates: list[Candidate],
    fk: str,
    k: int,
    by: tuple[str, ...] = ("population",),
) -> tuple[DataFrame, Column]:
    """``scored`` (with ``fk``) with, in every combination of ``keys`` below k, the chosen
    candidate (:func:`choose`) and its ghosts set to missing; and a Column that is true on
    the rows changed. Columns other than ``keys`` are kept."""
    before = changed_before(scored)
    marked = choose(scored, keys, candidates, fk, k, by)
    removes = {c.key: c.removes for c in candidates}
    out_cols = []
    for q in keys:
        hit = [c for c, r in removes.items() if q in r]
        if not hit:
            out_cols.append(F.col(q))
            continue
        gone = F.col("_chosen").isin(*hit)
        out_cols.append(F.when(gone, F.lit(None)).otherwise(F.col(q)).alias(q))
    rest = [c for c in scored.columns if c not in keys and c != "_changed"]
    changed = before | F.col("_chosen").isNotNull()
    return marked.select(*rest, *out_cols, changed.alias("_changed")), F.col("_changed")


def suppress_households(
    scored: DataFrame,
    sc: Scenario,
    rules: ReleaseRules,
    fk: str,
    k: int,
    materialise: Materialise | None = None,
):
    """Every household below k loses, for all its members at the reference date, one key
    as :func:`choose` picks it among the household's keys: its suppressible household keys
    and each member key (for every member at once), by importance, the least important
    that lifts the household to k (estimated on exact matches of the others), else the one
    that lifts it most. A key that would not lift it is not spent."""
    per = household_keys(scored, sc, fk)
    per = per if materialise is None else materialise(per)  # read twice by choose
    keys = [c for c in per.columns if c.startswith(("_h_", "_m_"))]
    combined = ("_m_all",) if "_m_all" in keys else ()
    candidates = [
        Candidate(f"_h_{q}", rules.keys[q].importance, (f"_h_{q}",))
        for q in sc.keys
        if rules.keys[q].suppress
    ]
    candidates += [
        Candidate(f"_m_{q}", rules.keys[q].importance, (f"_m_{q}", *combined))
        for q in sc.member_keys
    ]
    chosen = (
        choose(per.filter(F.col(fk).isNotNull()), keys, candidates, fk, k)
        .filter(F.col("_chosen").isNotNull())
        .select("population", "household_id", F.col("_chosen").alias("_household_chosen"))
    )
    tags = {q: f"_h_{q}" for q in sc.keys} | {q: f"_m_{q}" for q in sc.member_keys}
    at_ref = F.col("ref_year") == F.col("population")
    marked = scored.join(chosen, ["population", "household_id"], "left").withColumn(
        "_household_chosen", F.when(at_ref, F.col("_household_chosen"))
    )
    hit = {q: F.col("_household_chosen") == F.lit(tag) for q, tag in tags.items()}
    cols = [
        F.when(hit[q], F.lit(None)).otherwise(F.col(q)).alias(q) if q in hit else F.col(q)
        for q in scored.columns
        if q != "_changed"
    ]
    changed = reduce(lambda a, b: a | b, [hit[q] & F.col(q).isNotNull() for q in hit])
    changed = changed_before(scored) | changed
    return marked.select(*cols, F.coalesce(changed, F.lit(False)).alias("_changed"))


def follow_fixed(frame: DataFrame, rules: ReleaseRules) -> DataFrame:
    """A ``fixed`` value (conf/release.yaml: education U, which the age class gives) is
    missing wherever the key that determines it is missing: it would give that key back."""
    present = set(frame.columns)
    rules_of = {q: rule.fixed for q, rule in rules.keys.items() if rule.fixed and q in present}
    if not rules_of:
        return frame

    def followed(q: str) -> Column:
        gone = [
            (F.col(q) == F.lit(value)) & F.col(by).isNull()
            for value, by in rules_of[q].items()
            if by in present
        ]
        if not gone:
            return F.col(q)
        return F.when(reduce(lambda a, b: a | b, gone), F.lit(None)).otherwise(F.col(q)).alias(q)

    return frame.select(*[followed(c) if c in rules_of else F.col(c) for c in frame.columns])


def events_wide(frame: DataFrame) -> DataFrame:
    """A kind of end of follow-up suppressed for one member of a household (at the
    reference date) is suppressed for every member whose follow-up ended the same year:
    a household that moved out together would give it back."""
    if EVENT_KIND not in frame.columns:
        return frame
    group = ["population", "household_id", EVENT]
    gone = (
        frame.filter(F.col("household_id").isNotNull() & (F.col(EVENT) != F.lit(NO_EVENT)))
        .groupBy(*group)
        .agg(F.max(F.col(EVENT_KIND).isNull()).alias("_gone_kind"))
    )
    joined = frame.join(gone, group, "left")
    kind = F.when(F.col("_gone_kind"), F.lit(None)).otherwise(F.col(EVENT_KIND))
    return joined.select(*[kind.alias(c) if c == EVENT_KIND else F.col(c) for c in frame.columns])


def household_wide(frame: DataFrame, rules: ReleaseRules) -> DataFrame:
    """A household key missing for one member of a household at its reference row is
    missing for every member there (the household's value: a member would give it back)."""
    keys = [q for q in rules.person_keys() if rules.keys[q].household and rules.keys[q].suppress]
    if not keys:
        return frame
    group = ["population", "ref_year", "household_id"]
    gone = frame.groupBy(*group).agg(*[F.max(F.col(q).isNull()).alias(f"_gone_{q}") for q in keys])
    joined = frame.join(gone, group, "left")
    cols = [
        F.when(F.col(f"_gone_{c}"), F.lit(None)).otherwise(F.col(c)).alias(c)
        if c in keys
        else F.col(c)
        for c in frame.columns
    ]
    return joined.select(*cols)


def treat_persons(
    recoded: DataFrame,
    rules: ReleaseRules,
    materialise: Materialise,
    log: Callable[[str], None] = lambda _: None,
    counted: DataFrame | None = None,
    exact: list[str] | None = None,
) -> tuple[DataFrame, list[Round], str]:
    """Local suppression until every person and household scenario passes. Returns the
    treated frame scored (with ``_fk_<scenario>`` of every person and household scenario),
    the rounds and why it stopped short (empty: every scenario passes).

    ``counted``: ``recoded`` with its person scenarios' counts already (the lattice's).
    ``exact``: the person scenarios whose counts the caller needs exact for every person
    (default: all); in the others a count of at least k is a lower bound (:func:`rescore`),
    exact below k, which is all the verdict needs."""
    frame = recoded
    rounds: list[Round] = []
    reason = ""
    if counted is None:
        scored = materialise(score(frame, rules, materialise=materialise))
    else:
        scored = materialise(score(counted, rules, materialise=materialise, persons=[]))
    counts = below_k(scored, rules)
    rounds.append(Round("start", "", "at the chosen levels", counts))
    log(f"SCRA: below k at the chosen levels: {counts}")
    persons_treated = False
    while any(counts.values()):
        if len(rounds) > rules.max_rounds:
            reason = f"units below k are left after max_rounds ({rules.max_rounds}) rounds"
            break
        # Households first, alone (a household's member keys go for all its members at
        # once, which also lifts its members' person cells; treated together with the
        # person scenarios they cost 18 % more suppressed values at 100 000 persons, since
        # a member's key suppressed by a person scenario splits its household's lists).
        # When they pass, every failing scenario in one round, persons first, in order,
        # each leaving alone the units an earlier one changed: they are scored anew first.
        # (The few households a person round splits are treated in the next round with
        # the persons left, not in rounds of their own: 3 fewer rounds of ~50 s at
        # 1 000 000 persons.)
        households = [n for n, c in counts.items() if c and rules.scenarios[n].unit == "household"]
        persons = [n for n, c in counts.items() if c and rules.scenarios[n].unit == "person"]
        failing = households if households and not persons_treated else persons + households
        persons_treated = persons_treated or any(n in persons for n in failing)
        marked = scored
        for i, name in enumerate(failing):
            if i:  # each scenario reads its input twice: chained, the first would run 2^n times
                marked = materialise(marked)
            sc, k = rules.scenarios[name], rules.scenario_k(name)
            if sc.unit == "person":
                keys = scenario_keys(sc)
                candidates = person_candidates(rules, keys)
                if sc.event:
                    candidates.append(event_candidate(sc))
                marked, _ = suppress_cells(marked, keys, candidates, fk_col(name), k)
            else:
                marked = suppress_households(marked, sc, rules, fk_col(name), k, materialise)
        marked = materialise(events_wide(household_wide(follow_fixed(marked, rules), rules)))
        changed = marked.filter(F.col("_changed")).count()
        if not changed:
            reason = f"{', '.join(failing)}: units below k are left with no key left to suppress"
            break
        scored = materialise(rescore(marked.drop("_changed"), rules, materialise))
        counts = below_k(scored, rules)
        treated = ", ".join(failing)
        rounds.append(Round("suppress", treated, f"{changed} records lost a value", counts))
        log(f"SCRA: {treated}: {changed} records lost a value; below k: {counts}")
    wanted = list(person_scenarios(rules)) if exact is None else exact
    if len(rounds) > 1 and wanted:  # exact counts for the figures (the rounds kept bounds)
        again = scored.drop(*[fk_col(n) for n in wanted])
        scored = materialise(score(again, rules, households=False, persons=wanted))
    return scored, rounds, reason


@dataclass
class RowTreatment:
    table: DataFrame  # the table, treated
    history: list[int]  # rows below k per round
    reason: str  # why it stopped short (empty: no row is below k)
    first: DataFrame  # the untreated rows with ``fk``
    last: DataFrame | None  # the treated rows with ``fk`` (None: stopped before scoring them)


def treat_rows(
    table: DataFrame,
    columns: list[str],
    k: int,
    materialise: Materialise,
    max_rounds: int,
) -> RowTreatment:
    """A row scenario on one released table: its rows below k (``columns``, missing
    matching every category, per population) lose a value, the last-listed (least
    important) first, until none is left. The first and last scores are returned for the
    report's figures (not computed again)."""
    candidates = [Candidate(c, i + 1, (c,)) for i, c in enumerate(columns)]
    history: list[int] = []
    frame, first = table, None
    for _ in range(max_rounds):
        scored = materialise(frequencies(frame, columns, by=("population",)).drop("risk"))
        first = scored if first is None else first
        small = scored.filter(F.col("fk") < k).count()
        history.append(small)
        if not small:
            return RowTreatment(like(scored, table), history, "", first, scored)
        marked, _ = suppress_cells(scored, columns, candidates, "fk", k)
        marked = materialise(marked)
        if not marked.filter(F.col("_changed")).count():
            return RowTreatment(
                like(marked, table), history, "rows below k with nothing left", first, scored
            )
        frame = like(marked, table)
    reason = f"rows below k after max_rounds ({max_rounds})"
    assert first is not None
    return RowTreatment(like(frame, table), history, reason, first, None)


def like(frame: DataFrame, table: DataFrame) -> DataFrame:
    """``frame`` with the columns of ``table``, in its order, with its comments."""
    return frame.select(*[F.col(f.name).alias(f.name, metadata=f.metadata) for f in table.schema])


# --- from the treated persons to the released tables ---------------------------------------


def suppressed(recoded: DataFrame, frame: DataFrame, keys: list[str]) -> DataFrame:
    """Per person: ``_sup_<key>`` (true when the value of the reference date was removed)
    and ``_ref_<key>`` (the value before)."""
    before = recoded.select(*ID, *[F.col(q).alias(f"_ref_{q}") for q in keys])
    after = frame.select(*ID, *[F.col(q).alias(f"_now_{q}") for q in keys])
    return before.join(after, ID).select(
        *ID,
        *[F.col(f"_ref_{q}") for q in keys],
        *[
            (F.col(f"_ref_{q}").isNotNull() & F.col(f"_now_{q}").isNull()).alias(f"_sup_{q}")
            for q in keys
        ],
    )


def masks(
    recoded: DataFrame,
    frame: DataFrame,
    yearly: DataFrame,
    reference: DataFrame,
    rules: ReleaseRules,
    conf_dir: Path | str,
    levels: dict[str, int],
) -> tuple[DataFrame, DataFrame]:
    """What the release nulls: (per person: ``_null_<column>`` of the persons table; per
    population, year and person: ``_null_<column>`` of demobel and census).

    A suppressed key and its ghosts are nulled: in persons for the person; in an annual
    table in every year whose value equals the one of the reference date (a ghost of an
    annual key: in every year that key is nulled)."""
    keys = [q for q in rules.person_keys() if rules.keys[q].suppress]
    kind = [EVENT_KIND] if EVENT_KIND in frame.columns else []
    sup = suppressed(recoded, frame, [*keys, *kind])
    targets: dict[tuple[str, str], list[str]] = {}  # (table, column) -> keys hiding it
    for q in keys:
        rule = rules.keys[q]
        for t in [f"{rule.table}.{q}", *rule.ghosts]:
            table, column = t.split(".", 1)
            targets.setdefault((table, column), []).append(q)
    any_of = lambda qs: reduce(lambda a, b: a | b, [F.col(f"_sup_{q}") for q in qs])  # noqa: E731

    person_cols = {c: qs for (t, c), qs in targets.items() if t == "persons"}
    # The kind of the end of follow-up: the person's moved_out, the end reasons of their
    # memberships, and their moves (build.hidden_moves).
    kind_cols = (
        [F.col(f"_sup_{EVENT_KIND}").alias(f"_null_{c}") for c in EVENT_COLUMNS] if kind else []
    )
    person_mask = sup.select(
        *ID, *[any_of(qs).alias(f"_null_{c}") for c, qs in person_cols.items()], *kind_cols
    )
    yearly_cols = {(t, c): qs for (t, c), qs in targets.items() if t != "persons"}
    if not yearly_cols:
        return person_mask, yearly.select(*ROW_KEY).limit(0)
    ref_values = reference.select(
        *ID,
        *[
            key_column(c, rules.tables[t], rules, conf_dir, levels).alias(f"_was_{c}")
            for t, c in yearly_cols
        ],
    )
    now = yearly.select(
        *ROW_KEY,
        "household_id",
        *[key_column(c, rules.tables[t], rules, conf_dir, levels) for t, c in yearly_cols],
    )
    joined = now.join(sup, ID).join(ref_values, ID)

    def held(q: str) -> Column:
        """Key ``q`` hidden in this row: suppressed, and the row has its reference value; or
        suppressed as a ``fixed`` value (education U) whose key is: then in every year, since
        the year it changes would give that key back (the year a child turns 15)."""
        same = F.col(q).eqNullSafe(F.col(f"_was_{q}"))
        for value, by in rules.keys[q].fixed.items():
            if by in keys:
                same = same | ((F.col(f"_was_{q}") == F.lit(value)) & F.col(f"_sup_{by}"))
        return F.col(f"_sup_{q}") & same

    def hidden(c: str, qs: list[str]) -> Column:
        # Its own key: in the rows where it is hidden. A ghost of an annual key: in every
        # year of the person (a child's relation to the reference person in a year the
        # household type changed still gave the suppressed type back). A ghost of a persons
        # key: in the years it has its value of the reference date.
        def part(q: str) -> Column:
            if q == c:
                return held(q)
            if rules.keys[q].table != "persons":
                return F.col(f"_sup_{q}")
            return held_as(q, c)

        parts = [part(q) for q in qs]
        return reduce(lambda a, b: a | b, parts)

    def held_as(q: str, c: str) -> Column:
        return F.col(f"_sup_{q}") & F.col(c).eqNullSafe(F.col(f"_was_{c}"))

    flags = [hidden(c, qs).alias(f"_null_{c}") for (_, c), qs in yearly_cols.items()]
    yearly_mask = joined.select(*ROW_KEY, "household_id", *flags)
    # A household key (and its ghosts) is the household's: hidden for every member of the
    # household in that year, so no member gives it back.
    shared = [c for (_, c), qs in yearly_cols.items() if any(rules.keys[q].household for q in qs)]
    if shared:
        group = ["population", "year", "household_id"]
        per = yearly_mask.groupBy(*group).agg(
            *[F.max(f"_null_{c}").alias(f"_hh_{c}") for c in shared]
        )
        everyone = now.select(*ROW_KEY, "household_id").join(per, group, "left")
        yearly_mask = (
            yearly_mask.drop(*[f"_null_{c}" for c in shared])
            .join(everyone, [*ROW_KEY, "household_id"], "full")
            .select(
                *ROW_KEY,
                *[
                    F.coalesce(
                        F.col(f"_hh_{c}") if c in shared else F.col(f"_null_{c}"), F.lit(False)
                    ).alias(f"_null_{c}")
                    for _, c in yearly_cols
                ],
            )
        )
    else:
        yearly_mask = yearly_mask.drop("household_id")
    hit = reduce(lambda a, b: a | b, [F.col(f"_null_{c}") for _, c in yearly_cols])
    return person_mask, yearly_mask.filter(hit)
