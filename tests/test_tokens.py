"""Keyed tokens: the native Spark expression and the pandas UDF give Python's HMAC-SHA256,
and no key material shows in the plans Spark prints or keeps for its UI."""

from __future__ import annotations

import hashlib
import hmac
import io
from contextlib import redirect_stdout

import pytest
from pyspark.sql import functions as F

from pseudolink.pseudo.tokens import _pads, token

KEY = bytes(range(1, 33))
VALUES = ["85073003328", "00000000097", "", "H000123-é€", "x" * 200, None]


def oracle(key: bytes, value: str | None) -> str | None:
    if value is None:
        return None
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()


@pytest.mark.parametrize("method", ["native", "udf"])
@pytest.mark.parametrize("key", [KEY, b"k", bytes(100)], ids=["32-byte", "short", "long"])
def test_tokens_equal_python_hmac(spark, method, key):
    df = spark.createDataFrame([(v,) for v in VALUES], "v string")
    got = {
        r["v"]: r["t"] for r in df.select("v", token(F.col("v"), key, method).alias("t")).collect()
    }
    assert got == {v: oracle(key, v) for v in VALUES}


def test_native_and_udf_agree_on_many_values(spark):
    df = spark.range(5000).select(F.format_string("%011d", F.col("id") * 7919).alias("v"))
    both = df.select(
        token(F.col("v"), KEY, "native").alias("a"), token(F.col("v"), KEY, "udf").alias("b")
    )
    assert both.filter(F.col("a") != F.col("b")).count() == 0
    assert both.select("a").distinct().count() == 5000


def test_different_keys_give_different_tokens(spark):
    df = spark.createDataFrame([("85073003328",)], "v string")
    a = df.select(token(F.col("v"), KEY)).first()[0]
    b = df.select(token(F.col("v"), KEY[::-1])).first()[0]
    assert a != b and len(a) == len(b) == 64


def test_unknown_method_is_refused():
    with pytest.raises(ValueError, match="unknown pseudonymisation method"):
        token(F.col("v"), KEY, "md5")


def _secrets(key: bytes) -> list[str]:
    ipad, opad = _pads(key)
    return [key.hex(), ipad, opad, ipad.upper(), opad.upper()]


def test_key_material_is_not_in_shown_plans_or_the_ui(spark):
    df = spark.createDataFrame([("85073003328",)], "v string").select(
        token(F.col("v"), KEY, "native").alias("t")
    )
    shown = io.StringIO()
    with redirect_stdout(shown):
        df.explain(mode="extended")
        df.explain(mode="formatted")
    df.collect()  # an execution: its plan description goes to the SQL UI store
    store = spark._jsparkSession.sharedState().statusStore()
    executions = store.executionsList()
    last = executions.apply(executions.size() - 1)
    ui_plan = last.physicalPlanDescription() + last.description()
    text = shown.getvalue() + ui_plan
    assert "sha2" in text  # the plan is there ...
    for secret in _secrets(KEY):
        assert secret not in text  # ... without the key or its pads
    assert "85073003328" not in text
