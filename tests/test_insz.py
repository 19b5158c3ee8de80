"""The INSZ check, Python (``is_valid``) and native Spark (``insz_is_valid``), against
python-stdnum (``stdnum.be.nn`` and ``stdnum.be.bis``) as an independent oracle.

Intended differences with stdnum, outside the compared domain or asserted on their own:
- a day above 31 is invalid here; stdnum does not check the day at all;
- stdnum tries the post-2000 check digits only for birth years up to today's year, so
  its answer changes with the date; here both rules always count, so a run gives the same
  answer any year (later stages judge plausible birth dates).
"""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stdnum.be import bis, nn

from pseudolink.insz import check_digits, compose, insz_is_valid, is_valid

MONTHS = st.one_of(
    st.integers(0, 12), st.integers(20, 32), st.integers(40, 52), st.integers(13, 99)
)


@st.composite
def numbers(draw) -> str:
    """Eleven digits, mostly well-formed: right or wrong check digits, either century."""
    yy, month = draw(st.integers(0, 99)), draw(MONTHS)
    day = draw(st.one_of(st.integers(0, 31), st.integers(0, 99)))
    first9 = f"{yy:02d}{month:02d}{day:02d}{draw(st.integers(0, 999)):03d}"
    cc = draw(
        st.one_of(
            st.just(check_digits(first9, False)),
            st.just(check_digits(first9, True)),
            st.integers(0, 99),
        )
    )
    return f"{first9}{cc:02d}"


def oracle(value: str) -> bool:
    return nn.is_valid(value) or bis.is_valid(value)


def post_2000_only_in_future(value: str) -> bool:
    """Valid only by the post-2000 rule, for a year stdnum takes as not yet reached."""
    first9, cc = value[:9], int(value[9:])
    return (
        cc == check_digits(first9, True)
        and cc != check_digits(first9, False)
        and 2000 + int(value[:2]) > dt.date.today().year
    )


def expected(value: str) -> bool:
    """stdnum's answer, corrected for the intended differences (module docstring)."""
    if int(value[4:6]) > 31:
        return False
    if post_2000_only_in_future(value):
        return int(value[2:4]) % 20 <= 12 and int(value[2:4]) <= 52
    return oracle(value)


@settings(max_examples=200, deadline=None)
@given(numbers())
def test_python_check_agrees_with_stdnum(value):
    assert is_valid(value) == expected(value)


@settings(max_examples=200, deadline=None)
@given(
    st.integers(1900, 2099),
    st.integers(0, 12),
    st.integers(0, 31),
    st.integers(1, 997),
    st.sampled_from([0, 20, 40]),
)
def test_composed_numbers_are_valid(year, month, day, serial, bis_offset):
    value = compose(year, month, day, serial, bis_offset)
    assert is_valid(value)
    if year <= dt.date.today().year and day <= 28:
        assert oracle(value)


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.data_too_large])
@given(st.lists(numbers(), min_size=100, max_size=100))
def test_spark_check_agrees_with_python_and_stdnum(spark, values):
    rows = [(v,) for v in values] + [(None,)]
    got = spark.createDataFrame(rows, "v string").select("v", insz_is_valid("v").alias("ok"))
    answers = {r["v"]: r["ok"] for r in got.collect()}
    assert answers.pop(None) is False
    assert answers == {v: is_valid(v) for v in values}
    assert answers == {v: expected(v) for v in values}


@settings(max_examples=3, deadline=None)
@given(st.lists(st.text(alphabet="0123456789 .-x\n", max_size=13), min_size=60, max_size=60))
def test_spark_check_on_any_text(spark, values):
    got = spark.createDataFrame([(v,) for v in values], "v string")
    answers = {r["v"]: r["ok"] for r in got.select("v", insz_is_valid("v").alias("ok")).collect()}
    assert answers == {v: len(v) == 11 and v.isascii() and is_valid(v) for v in values}


def test_spark_check_edge_cases(spark):
    cases = [
        ("85073003328", True),  # stdnum's example
        ("17073003384", True),  # born 2017: the post-2000 rule
        ("98472899765", True),  # BIS, month + 40
        (compose(1985, 0, 0, 1), True),  # month and day unknown (00)
        ("85073003329", False),
        ("85133003300", False),  # month 13
        ("85073203328", False),  # day 32
        ("8507300332", False),
        ("850730033281", False),
        ("85073003328\n", False),
        ("8507300332\n", False),  # eleven characters, the last a newline
        ("٨٥٠٧٣٠٠٣٣٢٨", False),  # Arabic-Indic digits
        (None, False),
    ]
    df = spark.createDataFrame(cases, "v string, want boolean")
    got = [r["ok"] for r in df.select(insz_is_valid("v").alias("ok")).collect()]
    assert got == [want for _, want in cases]


def test_python_check_rejects_what_spark_rejects():
    assert not is_valid("85073003328\n")
    assert not is_valid("٨٥٠٧٣٠٠٣٣٢٨")
