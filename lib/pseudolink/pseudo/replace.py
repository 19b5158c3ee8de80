"""Replace identifiers by sequence numbers: pure DataFrame functions.

``person_map`` (insz, seq) and ``household_map`` (household_id, seq) come from the key
table; every identifier column of a linked table is joined to its map and dropped:

| column | becomes |
| --- | --- |
| ``insz`` | ``person_seq`` |
| ``reference_person_insz`` | ``reference_person_seq`` (DEMOBEL) |
| ``household_id`` | ``household_seq`` |
| ``action_id`` (VDAB) | ``action_seq``: 1, 2, ... per person by start date |

The lineage columns of the trusted area (delivery id, source file and line, ingest
time) are dropped too: they point back into the deliveries.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

DROPPED = ("delivery_id", "source_file", "source_line", "ingest_time")
IDENTIFIERS = {
    "insz": ("persons", "person_seq"),
    "reference_person_insz": ("persons", "reference_person_seq"),
    "household_id": ("households", "household_seq"),
}


def pseudonymise_frame(
    df: DataFrame, maps: dict[str, DataFrame], broadcast: bool = True
) -> DataFrame:
    """``df`` with every identifier column replaced, in place, by its sequence number.

    ``maps``: domain -> frame (id, seq), built from every identifier of the tables, so
    every non-null identifier finds its number (a null one stays null).
    """
    out = df
    order = list(df.columns)
    for column, (domain, seq_name) in IDENTIFIERS.items():
        if column not in df.columns:
            continue
        m = maps[domain].select(F.col("id").alias(f"_{column}"), F.col("seq").alias(seq_name))
        m = F.broadcast(m) if broadcast else m
        out = out.join(m, out[column] == m[f"_{column}"], "left").drop(f"_{column}")
        order[order.index(column)] = seq_name
    if "action_id" in df.columns:
        by_person = Window.partitionBy("person_seq", "population").orderBy(
            "start_date", "action_id"
        )
        out = out.withColumn("action_seq", F.row_number().over(by_person))
        order[order.index("action_id")] = "action_seq"
    return out.select(*[c for c in order if c not in DROPPED])
