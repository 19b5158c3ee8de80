"""Who is followed, how long, and why and when the follow-up ends.

Footnote 3 of deliberation 26/050 follows the household of the person in the population
("diens gezin"), so the follow-up is built around the index persons:

- an index person is followed from the reference year for as long as they live in the
  region on 1 January (in any household, a collective one too);
- anyone else is followed on 1 January of each year they live in the region in the same
  household as an index person of that population who is followed that year, from the
  first such year (``valid_from``: the reference year for the members, a later year for
  the joiners) through the unbroken run of such years (``valid_to``). The first year
  they do not (they left, or the index person left, moved out, died) ends it for good: a
  later return is not followed again;
- a collective household (``selection.presence``: ``collective``) is not a household to
  follow: nobody is a member because they share one with an index person, and an index
  person living in one is followed alone;
- one row per person and population: as an index person if they are one, else with the
  household of their first year (earliest year, then the smallest household id).

The year after the last DEMOBEL year (``last_year + 1``) is reconstructed from the last
year's events (``extended_presence``), so that the follow-up of the last year ends by the
same rules as the other years.

``end_reason``, in this order: ``died`` / ``moved_abroad`` / ``moved_unknown`` (the
person's own DEATH, EMIGRATION or STRUCK_OFF event during ``valid_to``); ``moved_unknown``
(absent the next year without such an event); ``moved_other_region`` (in another region
the next year); ``left_household`` (a member who, the next year, no longer lives with a
followed index person: they left, or the index person is gone); none (followed to
``last_year``).

``end_quarter`` (not in the membership table: the windows' ``quarterly_to``) is the
quarter of the event that ends the follow-up, during ``valid_to``: the ending event; for
``moved_other_region`` the person's first MOVE out of the region; for ``left_household``
the member's first MOVE into another household, else the latest departure (ending event,
MOVE into another household or out of the region) of the index persons the member lived
with on 1 January of ``valid_to``, when each of them has one. Null when no event is known.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from pseudolink.config import CohortSettings

ENDING_EVENTS = {"DEATH": "died", "EMIGRATION": "moved_abroad", "STRUCK_OFF": "moved_unknown"}
NOT_A_REGION = ("ABROAD", "UNKNOWN")  # MOVE destinations that are no region
KEY = ["insz", "population"]


def extended_presence(present: DataFrame, events: DataFrame, settings: CohortSettings) -> DataFrame:
    """``present`` (insz, year, household_id, region, collective) plus, for 1 January of
    ``last_year + 1``, the state the last year's events lead to: absent after a DEATH,
    EMIGRATION or STRUCK_OFF; in the household of the latest MOVE into another household;
    in the region of the latest MOVE; else where they were."""
    last = settings.last_year
    p = present.filter(F.col("year") == last).alias("p")
    e = events.filter(F.year("event_date") == last).alias("e")
    is_move = F.col("e.event") == "MOVE"
    state = (
        p.join(e, F.col("p.insz") == F.col("e.insz"), "left")
        .groupBy("p.insz", "p.household_id", "p.region", "p.collective")
        .agg(
            F.max(F.col("e.event").isin(list(ENDING_EVENTS))).alias("ended"),
            F.max(
                F.when(
                    is_move & (F.col("e.household_id") != F.col("p.household_id")),
                    F.struct("e.event_date", F.col("e.household_id").alias("h")),
                )
            ).alias("home"),
            F.max(
                F.when(
                    is_move & ~F.col("e.destination").isin(*NOT_A_REGION),
                    F.struct("e.event_date", F.col("e.destination").alias("r")),
                )
            ).alias("move"),
        )
    )
    collective = (
        present.filter(F.col("collective")).select(F.col("household_id").alias("cid")).distinct()
    )
    virtual = (
        state.filter(~F.coalesce(F.col("ended"), F.lit(False)))
        .join(collective, F.col("home.h") == F.col("cid"), "left")
        .select(
            "insz",
            F.lit(last + 1).alias("year"),
            F.coalesce(F.col("home.h"), F.col("household_id")).alias("household_id"),
            F.coalesce(F.col("move.r"), F.col("region")).alias("region"),
            F.when(F.col("home").isNotNull(), F.col("cid").isNotNull())
            .otherwise(F.col("collective"))
            .alias("collective"),
        )
    )
    return present.select("insz", "year", "household_id", "region", "collective").unionByName(
        virtual
    )


def departures(extended: DataFrame, events: DataFrame, settings: CohortSettings) -> DataFrame:
    """Per person and year they are present on 1 January: the date of their first MOVE
    into another household (``household_date``), of their first MOVE out of the region
    (``region_date``), and their first DEATH, EMIGRATION or STRUCK_OFF (``ending``: date,
    reason) during that year."""
    ending = F.create_map(*[x for k, v in ENDING_EVENTS.items() for x in (F.lit(k), F.lit(v))])
    e = events.select(
        "insz",
        F.year("event_date").alias("year"),
        "event_date",
        "event",
        "destination",
        F.col("household_id").alias("event_household"),
    )
    is_move = F.col("event") == "MOVE"
    out_of_region = (F.col("destination") != F.lit(settings.region)) & ~F.col("destination").isin(
        *NOT_A_REGION
    )
    return (
        extended.select("insz", "year", "household_id")
        .join(e, ["insz", "year"], "inner")
        .groupBy("insz", "year")
        .agg(
            F.min(
                F.when(
                    is_move & (F.col("event_household") != F.col("household_id")),
                    F.col("event_date"),
                )
            ).alias("household_date"),
            F.min(F.when(is_move & out_of_region, F.col("event_date"))).alias("region_date"),
            F.min(
                F.when(
                    F.col("event").isin(list(ENDING_EVENTS)),
                    F.struct("event_date", ending[F.col("event")].alias("reason")),
                )
            ).alias("ending"),
        )
    )


def _first_break(rows: DataFrame, followed: DataFrame, last_year: int) -> DataFrame:
    """``rows`` (insz, population, valid_from, ...) with ``break_year``: the first year
    after valid_from, up to last_year + 1, that is not in ``followed`` (insz, population,
    year); null when there is none."""
    years = rows.select(
        *KEY, F.explode(F.sequence(F.col("valid_from") + 1, F.lit(last_year + 1))).alias("year")
    )
    missing = years.join(followed, [*KEY, "year"], "left_anti")
    first = missing.groupBy(*KEY).agg(F.min("year").alias("break_year"))
    return rows.join(first, KEY, "left")


def _quarter_of(date: Column) -> Column:
    return F.when(date.isNotNull(), F.format_string("%04dQ%d", F.year(date), F.quarter(date)))


def with_follow_up(
    index: DataFrame, present: DataFrame, events: DataFrame, settings: CohortSettings
) -> DataFrame:
    """The membership of every population from its index persons (insz, population, role,
    household_id, valid_from): index persons and the members and joiners of their
    households, with valid_to, end_reason and end_quarter (see the module docstring)."""
    last, region = settings.last_year, settings.region
    extended = extended_presence(present, events, settings)
    in_region = F.col("region") == F.lit(region)

    # Index persons: followed while in the region.
    idx = index.select(*KEY, "role", "household_id", "valid_from")
    idx_followed = (
        idx.select(*KEY)
        .join(extended.filter(in_region).select("insz", "year"), "insz")
        .filter(F.col("year") > F.col("population"))
        .select(*KEY, "year")
    )
    idx = _first_break(idx, idx_followed, last)
    # Where each index person lives on 1 January of each year they are followed (up to
    # last_year + 1 for those followed to the end).
    index_years = idx.select(
        *KEY,
        F.explode(
            F.sequence(F.col("valid_from"), F.coalesce(F.col("break_year") - 1, F.lit(last + 1)))
        ).alias("year"),
    ).join(extended.select("insz", "year", "household_id"), ["insz", "year"], "inner")

    # Members and joiners: in the region, in a private household with a followed index
    # person of the population, and not an index person of it themselves.
    households = index_years.select("population", "year", "household_id").distinct()
    member_years = (
        extended.filter(in_region & ~F.col("collective"))
        .join(households, ["year", "household_id"], "inner")
        .filter(F.col("year") >= F.col("population"))
        .join(idx.select(*KEY), KEY, "left_anti")
        .select(*KEY, "year", "household_id")
    )
    first = F.min(F.struct("year", "household_id")).alias("f")
    members = (
        member_years.filter(F.col("year") <= last)
        .groupBy(*KEY)
        .agg(first)
        .select(
            *KEY,
            F.lit("member").alias("role"),
            F.col("f.household_id").alias("household_id"),
            F.col("f.year").alias("valid_from"),
        )
    )
    members = _first_break(members, member_years.select(*KEY, "year"), last)

    rows = idx.unionByName(members).withColumn(
        "valid_to", F.coalesce(F.col("break_year") - 1, F.lit(last))
    )
    return _with_end(rows, index_years, extended, events, settings)


def _with_end(
    rows: DataFrame,
    index_years: DataFrame,
    extended: DataFrame,
    events: DataFrame,
    settings: CohortSettings,
) -> DataFrame:
    region = settings.region
    deps = departures(extended, events, settings)
    at_end = extended.select(
        "insz", F.col("year").alias("valid_to"), F.col("household_id").alias("end_household")
    )
    at_break = extended.select(
        "insz",
        F.col("year").alias("break_year"),
        F.col("region").alias("break_region"),
        F.lit(True).alias("break_present"),
    )
    own = deps.withColumnRenamed("year", "valid_to")
    r = (
        rows.join(at_end, ["insz", "valid_to"], "left")
        .join(at_break, ["insz", "break_year"], "left")
        .join(own, ["insz", "valid_to"], "left")
    )
    # The departures of the index persons a member lived with on 1 January of valid_to.
    index_left = (
        index_years.join(deps, ["insz", "year"], "left")
        .select(
            "population",
            F.col("year").alias("valid_to"),
            F.col("household_id").alias("end_household"),
            F.least(
                F.col("ending.event_date"), F.col("household_date"), F.col("region_date")
            ).alias("left_date"),
        )
        .alias("i")
    )
    per_member = (
        r.filter(F.col("role") == "member")
        .select(*KEY, "valid_to", "end_household")
        .join(index_left, ["population", "valid_to", "end_household"], "inner")
        .groupBy(*KEY)
        .agg(
            F.when(F.count("*") == F.count("left_date"), F.max("left_date")).alias(
                "index_left_date"
            )
        )
    )
    r = r.join(per_member, KEY, "left")
    other_region = ~F.coalesce(F.col("break_region") == F.lit(region), F.lit(False))
    reason = (
        F.when(F.col("break_year").isNull(), F.lit(None).cast("string"))
        .when(F.col("ending").isNotNull(), F.col("ending.reason"))
        .when(F.col("break_present").isNull(), F.lit("moved_unknown"))
        .when(other_region, F.lit("moved_other_region"))
        .when(F.col("role") == "member", F.lit("left_household"))
    )
    end_date = (
        F.when(F.col("break_year").isNull(), F.lit(None).cast("date"))
        .when(F.col("ending").isNotNull(), F.col("ending.event_date"))
        .when(F.col("break_present").isNull(), F.lit(None).cast("date"))
        .when(other_region, F.col("region_date"))
        .when(
            F.col("role") == "member",
            F.coalesce(F.col("household_date"), F.col("index_left_date")),
        )
    )
    return r.select(
        "insz",
        "population",
        "role",
        "household_id",
        "valid_from",
        "valid_to",
        reason.alias("end_reason"),
        _quarter_of(end_date).alias("end_quarter"),
    )
