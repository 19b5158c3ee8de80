"""How long each person is followed, and why the follow-up ends.

A person is followed from ``valid_from`` for as long as they are, on 1 January of each
next year, in the region (index persons) or in the same household in the region
(members). ``valid_to`` is the last such year. The end reason, in this order:
``died`` / ``moved_abroad`` / ``moved_unknown`` (a DEMOBEL event during valid_to);
``left_household`` (a member is in another household the next year, or moved to another
household during the last year); ``moved_other_region`` (in another region the next year,
or the last move of the last year went there); ``moved_unknown`` (absent the next year
without an event); none (followed to the last year). A person who leaves and comes back
is not followed again: the follow-up ends at the first leave.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from pseudolink.config import CohortSettings

ENDING_EVENTS = {"DEATH": "died", "EMIGRATION": "moved_abroad", "STRUCK_OFF": "moved_unknown"}


def with_follow_up(
    candidates: DataFrame, present: DataFrame, events: DataFrame, settings: CohortSettings
) -> DataFrame:
    """Add valid_to and end_reason to candidates (insz, population, role, household_id,
    valid_from); index persons follow the region, members their household."""
    last_year, region = settings.last_year, settings.region
    c = candidates.alias("c")
    years = c.select(
        "insz",
        "population",
        "role",
        "household_id",
        "valid_from",
        F.explode(F.sequence(F.col("valid_from") + 1, F.lit(last_year))).alias("year"),
    ).alias("y")
    p = present.alias("p")
    checked = years.join(p, on=["insz", "year"], how="left").select(
        "insz",
        "population",
        "year",
        F.col("p.household_id").isNull().alias("absent"),
        (
            (F.col("y.role") == "member") & (F.col("p.household_id") != F.col("y.household_id"))
        ).alias("other_household"),
        (F.col("p.region") != F.lit(region)).alias("other_region"),
    )
    broken = checked.filter(F.col("absent") | F.col("other_household") | F.col("other_region"))
    first_break = broken.groupBy("insz", "population").agg(
        F.min(F.struct("year", "absent", "other_household", "other_region")).alias("b")
    )
    followed = c.join(first_break, on=["insz", "population"], how="left").select(
        "c.*",
        F.coalesce(F.col("b.year") - 1, F.lit(last_year)).alias("valid_to"),
        F.col("b.absent").alias("next_absent"),
        F.col("b.other_household").alias("next_other_household"),
        F.col("b.other_region").alias("next_other_region"),
    )
    return _with_end_reason(followed, events, settings)


def _with_end_reason(followed: DataFrame, events: DataFrame, settings: CohortSettings) -> DataFrame:
    f = followed.alias("f")
    e = events.select(
        "insz",
        F.year("event_date").alias("event_year"),
        "event_date",
        "event",
        "destination",
        F.col("household_id").alias("event_household"),
    ).alias("e")
    ending = F.create_map(*[x for k, v in ENDING_EVENTS.items() for x in (F.lit(k), F.lit(v))])
    in_last_year = f.join(
        e,
        (F.col("e.insz") == F.col("f.insz")) & (F.col("e.event_year") == F.col("f.valid_to")),
        how="inner",
    )
    per_person = (
        in_last_year.groupBy(
            F.col("f.insz").alias("insz"), F.col("f.population").alias("population")
        )
        .agg(
            F.min(
                F.when(
                    F.col("e.event").isin(list(ENDING_EVENTS)),
                    F.struct("e.event_date", ending[F.col("e.event")].alias("reason")),
                )
            ).alias("ending"),
            F.max(
                F.when(
                    F.col("e.event") == "MOVE",
                    F.col("e.event_household") != F.col("f.household_id"),
                )
            ).alias("moved_out"),
            F.max_by(
                F.when(F.col("e.event") == "MOVE", F.col("e.destination")),
                F.when(F.col("e.event") == "MOVE", F.col("e.event_date")),
            ).alias("last_move"),
        )
        .alias("x")
    )
    is_member = F.col("f.role") == "member"
    at_end = F.col("f.valid_to") == F.lit(settings.last_year)
    reason = (
        F.when(F.col("x.ending").isNotNull(), F.col("x.ending.reason"))
        .when(~at_end & F.col("f.next_absent"), F.lit("moved_unknown"))
        .when(~at_end & is_member & F.col("f.next_other_household"), F.lit("left_household"))
        .when(~at_end & F.col("f.next_other_region"), F.lit("moved_other_region"))
        .when(
            at_end & is_member & F.coalesce(F.col("x.moved_out"), F.lit(False)),
            F.lit("left_household"),
        )
        .when(
            at_end
            & F.col("x.last_move").isNotNull()
            & (F.col("x.last_move") != F.lit(settings.region)),
            F.lit("moved_other_region"),
        )
    )
    return f.join(per_person, on=["insz", "population"], how="left").select(
        "insz",
        "population",
        "role",
        "household_id",
        "valid_from",
        "valid_to",
        reason.alias("end_reason"),
    )
