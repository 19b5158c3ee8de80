"""Reading a table to check (a Delta table, Parquet or CSV) and checking its columns.

Every problem is one :class:`InputError` naming the table and the column, and what was
expected; the job turns it into one line and exit code 2.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from pseudolink.errors import InputError
from pseudolink.storage import HadoopFs

FORMATS = "a Delta table folder, a Parquet file or folder, or a CSV file with a header row"


def read_table(spark: SparkSession, uri: str, shown: str, sep: str | None = None) -> DataFrame:
    """The table at ``uri`` (a URI; ``shown`` is how the user wrote it): Delta when the folder
    has a ``_delta_log``, Parquet for ``.parquet`` or a folder of Parquet files, CSV for
    ``.csv`` (separator ``sep``, else ';' or ',' from the header line)."""
    fs = HadoopFs(spark)
    if not fs.exists(uri):
        raise InputError(f"{shown}: not found (expected {FORMATS})")
    lower = uri.lower().rstrip("/")
    if fs.is_dir(uri) and fs.exists(f"{uri}/_delta_log"):
        return spark.read.format("delta").load(uri)
    if lower.endswith(".parquet") or (
        fs.is_dir(uri) and any(e.name.endswith(".parquet") for e in fs.list(uri))
    ):
        return spark.read.parquet(uri)
    if lower.endswith((".csv", ".csv.gz", ".txt")) and not fs.is_dir(uri):
        line = spark.read.text(uri).first()
        first = line[0] if line is not None else ""
        if not first.strip():
            raise InputError(f"{shown}: empty file (expected a CSV file with a header row)")
        sep = sep or (";" if first.count(";") > first.count(",") else ",")
        return spark.read.option("header", True).option("sep", sep).csv(uri)
    raise InputError(f"{shown}: not a table this job reads (expected {FORMATS})")


def require_columns(columns: list[str], wanted: list[str], where: str) -> None:
    """Every wanted column is there; else name the first missing one and the columns."""
    for c in wanted:
        if c not in columns:
            raise InputError(f"{where}: no column '{c}' (columns: {', '.join(columns) or 'none'})")


def numeric_spark(df: DataFrame, column: str, where: str, whole: bool = False) -> DataFrame:
    """``df`` with ``column`` as double; text that is not a number stops with the value."""
    kind = df.schema[column].dataType
    expected = "whole numbers >= 0" if whole else "numbers"
    if isinstance(kind, T.NumericType):
        cast = F.col(column).cast("double")
    elif isinstance(kind, T.StringType):
        cast = F.trim(F.col(column)).try_cast("double")
        bad = df.filter(F.col(column).isNotNull() & cast.isNull()).select(column).first()
        if bad is not None:
            raise InputError(f"{where}: column '{column}': expected {expected}, found '{bad[0]}'")
    else:
        raise InputError(
            f"{where}: column '{column}': expected {expected}, found type {kind.simpleString()}"
        )
    out = df.withColumn(column, cast)
    if whole:
        bad = out.filter(
            F.col(column).isNull() | (F.col(column) < 0) | (F.col(column) != F.floor(column))
        ).first()
        if bad is not None:
            raise InputError(
                f"{where}: column '{column}': expected {expected}, found '{bad[column]}'"
            )
    return out


def numeric_pandas(table: pd.DataFrame, column: str, where: str, whole: bool = False) -> pd.Series:
    """``table[column]`` as floats; a value that is not a number stops with the value."""
    raw = table[column]
    values = pd.to_numeric(raw, errors="coerce").astype(float)
    expected = "whole numbers >= 0" if whole else "numbers"
    bad = raw.notna() & values.isna()
    if whole:
        bad |= raw.isna() | (values < 0) | (values != np.floor(values))
    if bad.any():
        raise InputError(
            f"{where}: column '{column}': expected {expected}, found '{raw[bad].iloc[0]}'"
        )
    return values
