"""Point-in-time lookups of the local Feature Engineering client: the PIT-01..PIT-14 matrix of
shared/reference/platform-facts.md §2, and a property test against a plain-Python as-of join.

W is the lookback window, T the row's lookup time. Output order is not guaranteed, so every
comparison sorts first.
"""
from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from lakeprep.features import FeatureEngineeringClient, FeatureLookup
from lakeprep.features import pit

pytestmark = pytest.mark.spark

UTC = dt.timezone.utc
T0 = dt.datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)
W = dt.timedelta(hours=6)


def ts(seconds: int) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


@pytest.fixture(scope="module")
def fe(platform):
    return FeatureEngineeringClient(platform=platform)


@pytest.fixture(scope="module")
def make_table(platform, fe):
    """Create (or recreate) a small timeseries feature table and return its three-level name."""
    def make(name, rows, schema="k STRING, ts TIMESTAMP, v INT", keys=("k", "ts"), timeseries="ts"):
        full = platform.full_name(name)
        if platform.table_exists(name):
            fe.drop_table(name=full)
        df = platform.spark.createDataFrame(rows, schema)
        fe.create_table(name=full, primary_keys=list(keys), timeseries_column=timeseries, df=df,
                        description=f"test table {name}")
        return full
    return make


@pytest.fixture(scope="module")
def history(make_table):
    # key a: rows at -8h, -6h (T - W exactly), -1s, 0 (== T); key b: only after T; key c: one old row
    return make_table("pit_history", [
        ("a", ts(-8 * 3600), 1), ("a", ts(-6 * 3600), 2), ("a", ts(-1), 3), ("a", ts(0), 4),
        ("b", ts(1), 10), ("b", ts(3600), 11),
        ("c", ts(-30 * 86400), 20),
    ])


def lookup_one(platform, fe, table, rows, **kwargs):
    left = platform.spark.createDataFrame(rows, "k STRING, t TIMESTAMP")
    out = fe.create_training_set(df=left, feature_lookups=[FeatureLookup(table, "k", timestamp_lookup_key="t", **kwargs)],
                                 label=None).load_df()
    # collected timestamps are naive local times: compare them as epoch seconds, whatever the zone
    got = [(r.k, None if r.t is None else r.t.timestamp(), r.v) for r in out.collect()]
    return sorted(got, key=lambda x: (x[0], x[1] is None, x[1] or 0))


def e(moment: dt.datetime) -> float:
    return moment.timestamp()


def test_pit01_row_at_the_lookup_time_matches(platform, fe, history):
    assert lookup_one(platform, fe, history, [("a", ts(0))]) == [("a", e(ts(0)), 4)]


def test_pit02_and_pit03_window_bound_is_inclusive(platform, fe, history):
    # key c has one row, 30 days old: at T = row + W it is exactly W old, at T = row + W + 1s too old
    row = ts(-30 * 86400)
    got = lookup_one(platform, fe, history, [("c", row + W), ("c", row + W + dt.timedelta(seconds=1))],
                     lookback_window=W)
    assert [g[2] for g in got] == [20, None]


def test_pit02_oldest_row_inside_the_window(platform, fe, history):
    # T = 0 with W = 6h: rows at -6h (== T - W), -1s and 0 qualify; the newest (0) wins
    assert lookup_one(platform, fe, history, [("a", ts(0))], lookback_window=W)[0][2] == 4
    # T = -2s with W = 6h - 2s: only -6h is exactly T - W (the -1s row is in the future)
    got = lookup_one(platform, fe, history, [("a", ts(-2))], lookback_window=W - dt.timedelta(seconds=2))
    assert got[0][2] == 2


def test_pit04_without_window_the_latest_row_however_old(platform, fe, history):
    got = lookup_one(platform, fe, history, [("c", ts(0)), ("a", ts(400 * 86400))])
    assert [g[2] for g in got] == [4, 20]


def test_pit05_zero_window_keeps_exact_matches_only(platform, fe, history):
    got = lookup_one(platform, fe, history, [("a", ts(0)), ("a", ts(-2))], lookback_window=dt.timedelta(0))
    assert [g[2] for g in got] == [None, 4]


def test_pit06_nothing_from_the_future(platform, fe, history):
    assert lookup_one(platform, fe, history, [("b", ts(0))])[0][2] is None


def test_pit07_missing_key_kept_with_null_or_default(platform, fe, history):
    assert lookup_one(platform, fe, history, [("zz", ts(0))]) == [("zz", e(ts(0)), None)]
    assert lookup_one(platform, fe, history, [("zz", ts(0))], default_values={"v": -1})[0][2] == -1


def test_pit08_same_key_and_time_written_twice_the_later_write_wins(platform, fe, make_table):
    table = make_table("pit_rewrite", [("a", ts(0), 1)])
    fe.write_table(name=table, df=platform.spark.createDataFrame([("a", ts(0), 2)], "k STRING, ts TIMESTAMP, v INT"))
    assert lookup_one(platform, fe, table, [("a", ts(5))])[0][2] == 2
    assert platform.spark.table(fe.local_name(table)).count() == 1


def test_pit09_duplicate_entity_rows_are_all_kept(platform, fe, history):
    got = lookup_one(platform, fe, history, [("a", ts(0)), ("a", ts(0)), ("b", ts(7200)), ("b", ts(7200))])
    assert len(got) == 4 and [g[2] for g in got] == [4, 4, 11, 11]


def test_pit10_exact_duplicates_are_dropped_and_conflicts_raise(platform, fe, make_table):
    table = make_table("pit_dupes", [("a", ts(0), 1), ("a", ts(0), 1), ("a", ts(-60), 0)])
    assert platform.spark.table(fe.local_name(table)).count() == 2          # write_table dropped the copy
    with pytest.raises(ValueError, match="same primary key"):
        fe.write_table(name=table, df=platform.spark.createDataFrame(
            [("b", ts(0), 1), ("b", ts(0), 2)], "k STRING, ts TIMESTAMP, v INT"))
    # raw duplicates appended behind the client's back still cannot multiply training rows
    platform.spark.createDataFrame([("a", ts(0), 1)], "k STRING, ts TIMESTAMP, v INT") \
        .write.mode("append").saveAsTable(fe.local_name(table))
    assert lookup_one(platform, fe, table, [("a", ts(10)), ("a", ts(10))]) == [("a", e(ts(10)), 1)] * 2


def test_pit11_two_tables_with_different_windows_join_independently(platform, fe, history, make_table):
    other = make_table("pit_other", [("a", ts(-3 * 86400), 100), ("b", ts(-60), 200)],
                       schema="k STRING, ts TIMESTAMP, w INT")
    left = platform.spark.createDataFrame([("a", ts(0)), ("b", ts(0))], "k STRING, t TIMESTAMP")
    out = fe.create_training_set(df=left, label=None, feature_lookups=[
        FeatureLookup(history, "k", timestamp_lookup_key="t", lookback_window=dt.timedelta(days=1)),
        FeatureLookup(other, "k", timestamp_lookup_key="t", lookback_window=dt.timedelta(days=1)),
    ]).load_df()
    rows = {r.k: (r.v, r.w) for r in out.collect()}
    assert rows == {"a": (4, None), "b": (None, 200)}     # a misses in `other`, b misses in `history`


def test_pit12_composite_keys_never_match_by_concatenation(platform, fe, make_table):
    table = make_table("pit_composite", [(1, "23", ts(0), 7)], schema="x INT, y STRING, ts TIMESTAMP, v INT",
                       keys=("x", "y", "ts"))
    left = platform.spark.createDataFrame([(12, "3", ts(10)), (1, "23", ts(10))], "x INT, y STRING, t TIMESTAMP")
    out = fe.create_training_set(df=left, label=None, feature_lookups=[
        FeatureLookup(table, ["x", "y"], timestamp_lookup_key="t")]).load_df()
    assert sorted((r.x, r.v) for r in out.collect()) == [(1, 7), (12, None)]


def test_pit13_session_time_zone_does_not_change_the_result(platform, fe, history):
    spark = platform.spark
    left_pd = pd.DataFrame({"k": ["a", "a", "c"],
                            "t": pd.to_datetime([ts(-1), ts(-6 * 3600 + 1), ts(5)]).tz_convert("Asia/Kolkata")})
    lookups = [FeatureLookup(history, "k", timestamp_lookup_key="t", lookback_window=W)]

    def run():
        out = fe.create_training_set(df=spark.createDataFrame(left_pd), feature_lookups=lookups, label=None).load_df()
        return sorted((r.k, pd.Timestamp(r.t.timestamp(), unit="s"), r.v) for r in out.collect())

    utc = run()
    spark.conf.set("spark.sql.session.timeZone", "America/Los_Angeles")
    try:
        other = run()
    finally:
        spark.conf.set("spark.sql.session.timeZone", "UTC")
    assert other == utc
    assert [v for _, _, v in utc] == [2, 3, None]


def test_pit13_date_keys_are_utc_days_whatever_the_session_zone(platform, fe, make_table):
    spark = platform.spark
    table = make_table("pit_dates", [("a", dt.date(2025, 3, 1), 1), ("a", dt.date(2025, 3, 2), 2)],
                       schema="k STRING, d DATE, v INT", keys=("k", "d"), timeseries="d")
    left = spark.createDataFrame([("a", dt.datetime(2025, 3, 2, 0, 0, tzinfo=UTC))], "k STRING, t TIMESTAMP")
    lookups = [FeatureLookup(table, "k", timestamp_lookup_key="t")]
    spark.conf.set("spark.sql.session.timeZone", "Pacific/Auckland")
    try:
        got = fe.create_training_set(df=left, feature_lookups=lookups, label=None).load_df().first().v
    finally:
        spark.conf.set("spark.sql.session.timeZone", "UTC")
    assert got == 2      # the row dated 2025-03-02 is available at 2025-03-02 00:00 UTC


def test_pit14_null_lookup_time_keeps_the_row_with_null_features(platform, fe, history):
    got = lookup_one(platform, fe, history, [("a", None), ("a", ts(0))])
    assert got == [("a", e(ts(0)), 4), ("a", None, None)]


def test_latest_snapshot_without_timestamp_key_takes_the_newest_row(platform, fe, history):
    left = platform.spark.createDataFrame([("a", ts(-10 * 86400)), ("b", ts(-10 * 86400))], "k STRING, t TIMESTAMP")
    out = fe.create_training_set(df=left, feature_lookups=[FeatureLookup(history, "k")], label=None).load_df()
    assert sorted((r.k, r.v) for r in out.collect()) == [("a", 4), ("b", 11)]   # from the future: the leak


# -- property test against an independent as-of join -------------------------------------------------

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


def oracle(left, right, window):
    """Plain Python: for each left row, the right row with the greatest ts <= T (and >= T - W)."""
    out = []
    for key, t in left:
        best = None
        if t is not None:
            for rk, rt, value in right:
                if rk == key and rt <= t and (window is None or rt >= t - window) and (best is None or rt > best[0]):
                    best = (rt, value)
        out.append((key, t, None if best is None else best[1]))
    return sorted(out, key=lambda x: (x[0], x[1] is None, x[1] or 0, x[2] is None, x[2] or 0))


feature_rows = st.lists(st.tuples(st.sampled_from("abc"), st.integers(0, 40), st.one_of(st.none(), st.integers(-5, 5))),
                        max_size=25, unique_by=lambda r: (r[0], r[1]))
left_rows = st.lists(st.tuples(st.sampled_from("abcd"), st.one_of(st.none(), st.integers(-5, 45))), max_size=20)
windows = st.one_of(st.none(), st.integers(0, 12))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(right=feature_rows, left=left_rows, window=windows)
def test_as_of_join_matches_a_plain_python_oracle(platform, right, left, window):
    spark = platform.spark
    base = dt.datetime(2025, 1, 1, tzinfo=UTC)
    to_ts = lambda m: None if m is None else base + dt.timedelta(minutes=m)  # noqa: E731
    rdf = spark.createDataFrame([(k, to_ts(m), v) for k, m, v in right], "k STRING, ts TIMESTAMP, v INT")
    ldf = spark.createDataFrame([(k, to_ts(m)) for k, m in left], "k STRING, t TIMESTAMP")
    out = pit.as_of_join(ldf, rdf, left_keys=["k"], right_keys=["k"], left_time="t", right_time="ts",
                         features={"v": "v"}, lookback=None if window is None else dt.timedelta(minutes=window))
    got = sorted(((r.k, None if r.t is None else round((r.t.timestamp() - base.timestamp()) / 60), r.v)
                  for r in out.collect()), key=lambda x: (x[0], x[1] is None, x[1] or 0, x[2] is None, x[2] or 0))
    assert got == oracle(left, right, window)
