"""The order of the rows in a written file carries no information.

Upstream, rows come in the order of a join or a sort on an identifier (the INSZ, the
Statbel household id): written as they come, a row's position in its file would give
back what the pseudonymisation hides (the INSZ holds the birth date). Every pseudonymised
and released table is therefore written sorted by a sequence number, which the key table
assigns in a random order, inside each partition folder (one file per folder).
"""

from __future__ import annotations

from pyspark.sql import DataFrame


def neutral_order(df: DataFrame, parts: list[str], seq: str) -> DataFrame:
    """``df`` with one task per partition folder (``parts``), its rows sorted by the
    sequence number ``seq`` (then the partition columns, which the writer needs first)."""
    spread = df.repartition(*parts) if parts else df
    return spread.sortWithinPartitions(*parts, seq)
