"""Small cell risk analysis (SCRA): sdcMicro's measures as DataFrame aggregations.

Definitions follow sdcMicro (sdcTools/sdcMicro: R/freqCalc.r, R/indivRisk.R,
R/measure_risk.R) for a release of whole populations, without sampling weights:

- **fk**: the number of records of the record's group (``by``: a population, or a
  population and year) whose key combination matches the record's (:func:`frequencies`).
- **Missing values** match every category (sdcMicro's convention, with its default
  alpha = 1): record j counts for record i when, on every key, the two are equal or one
  of them is missing. So a complete record also counts the compatible records with
  missing values, and a record with every key missing counts its whole group.
- **Individual risk** r = 1/fk (Fk = fk without weights: the Benedetti-Franconi
  approximation reduces to it); **expected re-identifications** ER = sum of r; global
  risk ER/n (:func:`summary`).
- **Household risk** r_h = 1 - prod(1 - r_i) over the household's members in the group,
  given to every member (sdcMicro and mu-ARGUS) (:func:`household_risk`).
- **k-anonymity**: a record with fk < k is in a small cell.
- The intruder model (which keys, which units, which k) and the treatment are in
  :mod:`pseudolink.release.treat`; these are the measures it uses.

Everything is an aggregation or a join on the cluster: nothing is collected to the driver
but the list of missing-value patterns (at most 2^q small integers).

How missing values are counted without a pairwise join of records: every cell (distinct
key combination with its count and its missing pattern a) is compared with the cells of
each pattern b on the keys missing in neither (outside U = a | b). One explode of the cells
over the patterns gives, per (a, U-masked key), the matching counts; one more explode of
each cell over its sets U and one join sum them. The number of Spark stages does not grow
with the number of patterns.
"""

from __future__ import annotations

from functools import reduce

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

BY = ("population", "year")
MISSING = "\u0000"  # the internal stand-in for a missing key value in join keys


def encoded(keys: list[str]) -> list[Column]:
    """``_e<i>``: key i as a string, MISSING when null (so joins and groups match nulls)."""
    return [
        F.coalesce(F.col(k).cast("string"), F.lit(MISSING)).alias(f"_e{i}")
        for i, k in enumerate(keys)
    ]


def pattern(n: int) -> Column:
    """``_pat``: the bit mask of the missing keys of an encoded row."""
    bits = [F.when(F.col(f"_e{i}") == MISSING, F.lit(1 << i)).otherwise(F.lit(0)) for i in range(n)]
    return reduce(lambda a, b: a + b, bits, F.lit(0)).alias("_pat")


def cell_frequencies(
    df: DataFrame,
    keys: list[str],
    by: tuple[str, ...] = BY,
    looking: Column | None = None,
) -> DataFrame:
    """Per group and key combination (encoded ``_e<i>``) of the records of ``df`` where
    ``looking`` holds (default: every record): ``fk``, counted over every record of ``df``.

    ``looking`` (true on a few records) restricts the work to their combinations: the
    counts are exploded over their missing patterns only and summed only where one of
    them looks them up."""
    n = len(keys)
    enc = [f"_e{i}" for i in range(n)]
    coded = df.select(
        *by, *encoded(keys), (F.lit(True) if looking is None else looking).alias("_l")
    )
    coded = coded.select("*", pattern(n))
    cells = coded.groupBy(*by, *enc, "_pat").agg(F.count(F.lit(1)).alias("n"))
    # The missing patterns (at most 2^n), of every record and of the looking ones, in one
    # pass over the records (no grouping into cells first).
    seen = coded.groupBy("_pat").agg(F.max("_l").alias("_l")).collect()
    patterns = sorted(r["_pat"] for r in seen)
    looks = sorted(r["_pat"] for r in seen if r["_l"])
    look = (
        cells if looking is None else coded.filter(F.col("_l")).select(*by, *enc, "_pat").distinct()
    )
    if not looks:
        return look.select(*by, *enc, F.lit(0).cast("long").alias("fk"))
    if patterns == [0]:
        exact = cells.select(*by, *enc, F.col("n").alias("fk"))
        return exact if looking is None else look.drop("_pat").join(exact, [*by, *enc])

    def masked(u: Column) -> list[Column]:
        return [
            F.when(u.bitwiseAND(F.lit(1 << i)) != 0, F.lit(MISSING))
            .otherwise(F.col(f"_e{i}"))
            .alias(f"_m{i}")
            for i in range(n)
        ]

    mask = [f"_m{i}" for i in range(n)]
    # Each looking cell c (pattern a), once per distinct U = a | b over the patterns b.
    unions = F.lit(None).cast("array<int>")
    for a in looks:
        us = sorted({a | b for b in patterns})
        unions = F.when(F.col("_pat") == a, F.array(*[F.lit(u) for u in us])).otherwise(unions)
    side_c = look.select(*by, *enc, "_pat", F.explode(unions).alias("_u"))
    looked = side_c.select(*by, *enc, F.col("_pat").alias("_a"), *masked(F.col("_u")))
    # Per pattern a of a looking cell: the counts of every cell d, keyed by d's keys
    # outside U = a | pattern(d).
    side_d = cells.select(
        *by, *enc, "_pat", "n", F.explode(F.array(*[F.lit(p) for p in looks])).alias("_a")
    )
    wanted = side_d.select(*by, "_a", *masked(F.col("_a").bitwiseOR(F.col("_pat"))), "n")
    if looking is not None:  # only what a looking cell looks up
        wanted = wanted.join(
            looked.select(*by, "_a", *mask).distinct(), [*by, "_a", *mask], "left_semi"
        )
    counts = wanted.groupBy(*by, "_a", *mask).agg(F.sum("n").alias("_matches"))
    return (
        looked.join(counts, [*by, "_a", *mask])
        .groupBy(*by, *enc)
        .agg(F.sum("_matches").alias("fk"))
    )


def frequencies(
    df: DataFrame,
    keys: list[str],
    by: tuple[str, ...] = BY,
    counted: DataFrame | None = None,
    looking: Column | None = None,
) -> DataFrame:
    """``df`` with ``fk`` (sdcMicro's frequency count, missing values matching any value)
    and ``risk`` = 1/fk. ``counted``: the records counted, when ``df`` holds the same ones
    with more columns computed from them (the counts then need none of those).
    ``looking``: only the combinations of the counted records where it holds are counted
    (:func:`cell_frequencies`); ``fk`` is null on the others."""
    enc = [f"_e{i}" for i in range(len(keys))]
    cells = cell_frequencies(df if counted is None else counted, keys, by, looking)
    scored = df.select("*", *encoded(keys)).join(cells, [*by, *enc], "left")
    return scored.drop(*enc).withColumn("risk", F.lit(1.0) / F.col("fk"))


def household_risk(
    scored: DataFrame,
    household: str = "household_id",
    by: tuple[str, ...] = BY,
    person: str = "person_id",
) -> DataFrame:
    """Add ``household_risk`` = 1 - prod(1 - risk) over the household's records in the
    group (a record without a household is a household of its own)."""
    alone = F.concat(F.lit(MISSING), F.col(person).cast("string"))
    hh = F.coalesce(F.col(household).cast("string"), alone)
    keyed = scored.withColumn("_hh", hh)
    per = keyed.groupBy(*by, "_hh").agg(
        F.max("risk").alias("_max"),
        F.sum(F.when(F.col("risk") < 1, F.log1p(-F.col("risk"))).otherwise(F.lit(0.0))).alias(
            "_log"
        ),
    )
    per = per.select(
        *by,
        "_hh",
        F.when(F.col("_max") >= 1, F.lit(1.0))
        .otherwise(F.lit(1.0) - F.exp("_log"))
        .alias("household_risk"),
    )
    return keyed.join(per, [*by, "_hh"], "left").drop("_hh")


def summary(scored: DataFrame, keys: list[str], k: int, by: tuple[str, ...] = BY) -> DataFrame:
    """Per group: records, records and cells below k, expected re-identifications (ER),
    global risk (ER / records), and the highest and mean household risk when present."""
    small = F.col("fk") < k
    cell = F.concat_ws("\u001f", *encoded(keys))
    aggs = [
        F.count(F.lit(1)).alias("records"),
        F.sum(F.when(small, 1).otherwise(0)).alias("records_below_k"),
        F.count_distinct(F.when(small, cell)).alias("cells_below_k"),
        F.sum("risk").alias("expected_reidentifications"),
    ]
    if "household_risk" in scored.columns:
        aggs += [
            F.max("household_risk").alias("max_household_risk"),
            F.avg("household_risk").alias("mean_household_risk"),
        ]
    out = scored.groupBy(*by).agg(*aggs)
    return out.withColumn("global_risk", F.col("expected_reidentifications") / F.col("records"))


CELL_SIZES = ((1, "1"), (2, "2"), (3, "3"), (4, "4"), (5, "5-9"), (10, "10-19"), (20, "20+"))


def cell_size_distribution(scored: DataFrame, by: tuple[str, ...] = ("population",)) -> DataFrame:
    """Records per fk class (1, 2, 3, 4, 5-9, 10-19, 20+) and group."""
    label = F.lit(CELL_SIZES[-1][1])
    for bound, name in reversed(CELL_SIZES[:-1]):
        nxt = CELL_SIZES[CELL_SIZES.index((bound, name)) + 1][0]
        label = F.when(F.col("fk") < nxt, F.lit(name)).otherwise(label)
    return scored.groupBy(*by, label.alias("cell_size")).agg(F.count(F.lit(1)).alias("records"))
