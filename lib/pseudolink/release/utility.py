"""What the treatment cost and what risk is left: the SCRA report's figures.

Every figure is one aggregation on the cluster; only small summaries (classes, counts) are
collected.

- Per key (:func:`key_figures`): values present, suppressed (count and share), the classes
  before (starting level) and after (chosen level), the category table before and after,
  and the information loss: ARX's non-uniform entropy, normalised, i.e. per value
  ``log2(|released class| / |original class|)`` (a suppressed value's class is every
  record), summed, over its maximum (every value suppressed): 0 is nothing lost, 1 all.
- Below k at several k (:func:`below_k_at`) per scenario, before and after.
- Transitions kept (:func:`transitions`): changes of residence, household type and
  education between consecutive years, before and after.
- The panels' residual risk (:func:`panel_risk`): the persons unique (and below k) when an
  intruder knows their position in two quarters a year apart.
"""

from __future__ import annotations

import math
from collections import defaultdict
from functools import reduce

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from pseudolink.release.scra import frequencies, household_risk

ID = ["population", "person_id"]
SHOWN_K = (2, 3, 5)
MISSING_LABEL = "(missing)"


def key_figures(start: DataFrame, recoded: DataFrame, final: DataFrame, keys: list[str]) -> dict:
    """Per key: the figures of the module doc (one aggregation for all keys)."""
    pairs = (
        start.select(*ID, *[F.col(q).alias(f"_s_{q}") for q in keys])
        .join(recoded.select(*ID, *[F.col(q).alias(f"_r_{q}") for q in keys]), ID)
        .join(final.select(*ID, *keys), ID)
    )
    entries = F.array(
        *[
            F.struct(
                F.lit(q).alias("key"),
                F.col(f"_s_{q}").cast("string").alias("s"),
                F.col(f"_r_{q}").cast("string").alias("r"),
                F.col(q).isNull().alias("gone"),
            )
            for q in keys
        ]
    )
    rows = (
        pairs.select(F.explode(entries).alias("e"))
        .select("e.*")
        .groupBy("key", "s", "r", "gone")
        .agg(F.count(F.lit(1)).alias("n"))
        .collect()
    )
    by_key: dict[str, list] = defaultdict(list)
    for r in rows:
        by_key[r["key"]].append((r["s"], r["r"], bool(r["gone"]), int(r["n"])))
    return {q: _one_key(by_key.get(q, [])) for q in keys}


def _one_key(cells: list[tuple[str | None, str | None, bool, int]]) -> dict:
    total = sum(n for s, _, _, n in cells if s is not None)
    suppressed = sum(n for s, r, gone, n in cells if r is not None and gone)
    orig: dict[str, int] = defaultdict(int)
    klass: dict[str, int] = defaultdict(int)
    before: dict[str, int] = defaultdict(int)
    after: dict[str, int] = defaultdict(int)
    for s, r, gone, n in cells:
        before[s if s is not None else MISSING_LABEL] += n
        after[r if (r is not None and not gone) else MISSING_LABEL] += n
        if s is not None:
            orig[s] += n
            if r is not None:
                klass[r] += n  # the class's size as recoded, before any suppression
    lost = maximum = 0.0
    for s, r, gone, n in cells:
        if s is None:
            continue
        maximum += n * math.log2(total / orig[s])
        released = total if (r is None or gone) else klass[r]
        lost += n * math.log2(released / orig[s])
    return {
        "values": total,
        "suppressed": suppressed,
        "share_suppressed": round(suppressed / total, 4) if total else 0.0,
        "classes_before": len([c for c in before if c != MISSING_LABEL]),
        "classes_after": len([c for c in after if c != MISSING_LABEL]),
        "information_loss": round(lost / maximum, 4) if maximum else 0.0,
        "categories": [
            {"value": c, "before": before.get(c, 0), "after": after.get(c, 0)}
            for c in sorted(set(before) | set(after), key=lambda v: (v == MISSING_LABEL, v))
        ],
    }


def below_k_at(scored: DataFrame, fk: str, unit: str = "person") -> dict[str, int]:
    """Units with ``fk`` below 2, 3 and 5 (households counted once)."""
    if unit == "household":
        hh = F.concat_ws(":", F.col("population").cast("string"), F.col("household_id"))
        aggs = [F.count_distinct(F.when(F.col(fk) < k, hh)).alias(str(k)) for k in SHOWN_K]
        aggs.append(F.count_distinct(F.when(F.col(fk).isNotNull(), hh)).alias("units"))
    else:
        aggs = [F.sum(F.when(F.col(fk) < k, 1).otherwise(0)).alias(str(k)) for k in SHOWN_K]
        aggs.append(F.count(F.lit(1)).alias("units"))
    row = scored.agg(*aggs).first()
    assert row is not None
    return {key: int(v or 0) for key, v in row.asDict().items()}


def rows_below_k_at(table: DataFrame, columns: list[str]) -> dict[str, int]:
    scored = frequencies(table, columns, by=("population",))
    return below_k_at(scored, "fk")


def household_risks(scored: DataFrame, fk: str) -> dict:
    """sdcMicro's household risk (1 - prod(1 - 1/fk) over the household's members at the
    reference date), from the individual risk in the scenario whose ``fk`` is given."""
    at_ref = scored.filter(F.col("ref_year") == F.col("population"))
    risky = household_risk(at_ref.withColumn("risk", F.lit(1.0) / F.col(fk)), by=("population",))
    row = risky.agg(
        F.max("household_risk").alias("max"), F.avg("household_risk").alias("mean")
    ).first()
    assert row is not None
    return {"max": round(float(row["max"] or 0), 4), "mean": round(float(row["mean"] or 0), 6)}


def transitions(yearly: DataFrame, columns: list[str]) -> dict[str, int]:
    """Per column: the changes between consecutive years of a person (both values present)."""
    a = yearly.select(*ID, "year", *[F.col(c).alias(f"_a_{c}") for c in columns])
    b = yearly.select(
        *ID, (F.col("year") - 1).alias("year"), *[F.col(c).alias(f"_b_{c}") for c in columns]
    )
    pairs = a.join(b, [*ID, "year"])
    aggs = [
        F.sum(
            F.when(
                F.col(f"_a_{c}").isNotNull()
                & F.col(f"_b_{c}").isNotNull()
                & (F.col(f"_a_{c}") != F.col(f"_b_{c}")),
                1,
            ).otherwise(0)
        ).alias(c)
        for c in columns
    ]
    row = pairs.agg(*aggs).first()
    assert row is not None
    return {c: int(row[c] or 0) for c in columns}


def panel_risk(panel: DataFrame, person: str, column: str, k: int) -> list[dict]:
    """Per population: the persons with a position in the first quarter of the reference
    year and a year later, and how many of them are unique (and below k) on that pair."""
    first = F.format_string("%dQ1", F.col("population"))
    later = F.format_string("%dQ1", F.col("population") + 1)
    at = lambda q, name: panel.filter(F.col("quarter") == q).select(  # noqa: E731
        "population", F.col(person).alias("_p"), F.col(column).cast("string").alias(name)
    )
    pairs = at(first, "_a").join(at(later, "_b"), ["population", "_p"])
    cells = pairs.groupBy("population", "_a", "_b").agg(F.count(F.lit(1)).alias("n"))
    out = cells.groupBy("population").agg(
        F.sum("n").alias("persons"),
        F.sum(F.when(F.col("n") == 1, F.col("n")).otherwise(0)).alias("unique"),
        F.sum(F.when(F.col("n") < k, F.col("n")).otherwise(0)).alias("below_k"),
    )
    return [
        {key: int(v) for key, v in r.asDict().items()} for r in out.orderBy("population").collect()
    ]


def mean_loss(keys: dict[str, dict]) -> float:
    losses = [v["information_loss"] for v in keys.values()]
    return round(reduce(lambda a, b: a + b, losses, 0.0) / len(losses), 4) if losses else 0.0
