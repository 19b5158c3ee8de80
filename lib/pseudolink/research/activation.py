"""Work after the start of an activation action, by poverty risk and by social assistance.

Per person and population, the first VDAB activation action that started during the
follow-up (start year from the population's reference year), and at each horizon h
(quarters after the quarter the action started, 4 and 8 by default), from the KSZ position:

- ``sustained work``: working (position 1xx) in each of the ``sustain`` quarters up to h
  (h - 3 .. h for 4): work lasting at least four quarters;
- ``work``: working in quarter h, but not in all of those quarters;
- ``no work``: not working in quarter h;
- empty when quarter h has no position (after the follow-up, or after 2024Q4): such persons
  are not in the denominator at that horizon.

Breakdowns: ``poverty_risk`` (ADI's monetary poverty risk of the start year) and
``social_assistance``: Y when the KSZ OCMW support type shows any support (a code other
than ``no_support``: the integration income or its equivalent, an employment trajectory, a
GPMI or other assistance) in the start quarter or the ``lookback`` quarters before it; N
when it shows none in the quarters known; empty when none of them is known.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from pseudolink.research.positions import month_quarter_index, quarter_index, quarter_label

SUSTAINED, WORK, NO_WORK = "sustained work", "work", "no work"
OUTCOMES = (SUSTAINED, WORK, NO_WORK)


def first_actions(activation: DataFrame) -> DataFrame:
    """Per population and person: ``_start``, the quarter of the first action started in
    the follow-up."""
    started = activation.filter(
        (F.col("year") >= F.col("population")) & F.col("start_month").isNotNull()
    )
    return started.groupBy("population", "person_id").agg(
        F.min(month_quarter_index(F.col("start_month"))).alias("_start")
    )


def activation_outcomes(
    activation: DataFrame,
    ksz: DataFrame,
    adi: DataFrame,
    horizons: tuple[int, ...] = (4, 8),
    sustain: int = 4,
    lookback: int = 3,
    no_support: str = "0",
) -> DataFrame:
    """One row per person and population with a first action: ``start_quarter``,
    ``poverty_risk``, ``social_assistance`` and ``outcome_<h>`` per horizon."""
    first = first_actions(activation)
    positions = ksz.select(
        "population",
        "person_id",
        quarter_index(F.col("quarter")).alias("_q"),
        F.col("socio_economic_position").startswith("1").alias("_working"),
        (F.col("ocmw_support") != F.lit(no_support)).alias("_assisted"),
    )
    joined = first.join(positions, ["population", "person_id"], "left")
    offset = F.col("_q") - F.col("_start")
    before = (offset >= -lookback) & (offset <= 0)
    aggs = [F.max(F.when(before, F.col("_assisted").cast("int"))).alias("_assisted")]
    for h in horizons:
        window = (offset > h - sustain) & (offset <= h)
        aggs += [
            F.max(F.when(offset == h, F.col("_working").cast("int"))).alias(f"_at_{h}"),
            F.sum(F.when(window & F.col("_working"), 1).otherwise(0)).alias(f"_in_{h}"),
        ]
    per = joined.groupBy("population", "person_id", "_start").agg(*aggs)
    poverty = adi.select("population", "person_id", F.col("year").alias("_year"), "poverty_risk")
    per = per.join(
        poverty,
        (per["population"] == poverty["population"])
        & (per["person_id"] == poverty["person_id"])
        & (F.floor(per["_start"] / 4) == poverty["_year"]),
        "left",
    ).select(per["*"], poverty["poverty_risk"])
    outcomes = [
        F.when(F.col(f"_at_{h}").isNull(), F.lit(None).cast("string"))
        .when(F.col(f"_in_{h}") >= sustain, F.lit(SUSTAINED))
        .when(F.col(f"_at_{h}") == 1, F.lit(WORK))
        .otherwise(F.lit(NO_WORK))
        .alias(f"outcome_{h}")
        for h in horizons
    ]
    assisted = F.when(F.col("_assisted") == 1, "Y").when(F.col("_assisted") == 0, "N")
    return per.select(
        "population",
        "person_id",
        quarter_label(F.col("_start")).alias("start_quarter"),
        "poverty_risk",
        assisted.alias("social_assistance"),
        *outcomes,
    )
