"""Point-in-time (as-of) joins in Spark, without collecting anything to the driver.

`as_of_join` unions the rows to enrich with the feature rows, partitions by the join keys, orders
by time (a feature row before a left row at the same instant, so `ts == T` matches) and carries
the last feature row forward with `last(..., ignorenulls)` over a running window. One shuffle,
no range join, and every left row comes out exactly once: duplicated left rows stay duplicated,
duplicated feature rows cannot multiply anything.

Times are compared as UTC microseconds since the epoch, so DATE, TIMESTAMP and TIMESTAMP_NTZ
columns mix, and the session time zone never changes a result: a DATE is its 00:00 UTC, an NTZ
value is read as a UTC wall clock.
"""
from __future__ import annotations

import datetime as _dt

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

TIME_TYPES = (T.TimestampType, T.DateType, T.TimestampNTZType)
_MICROS_PER_DAY = 86_400 * 1_000_000


def utc_micros(column: Column, dtype: T.DataType) -> Column:
    """Microseconds since 1970-01-01 00:00 UTC, independent of the session time zone."""
    if isinstance(dtype, T.TimestampType):
        return F.unix_micros(column)
    if isinstance(dtype, T.DateType):
        return F.unix_date(column).cast("long") * F.lit(_MICROS_PER_DAY)
    if isinstance(dtype, T.TimestampNTZType):
        seconds = (F.unix_date(column.cast("date")).cast("long") * 86_400 + F.hour(column) * 3_600
                   + F.minute(column) * 60 + F.second(column))
        return seconds * F.lit(1_000_000)
    raise ValueError(f"a point-in-time key must be a DATE or TIMESTAMP column, not {dtype.simpleString()}")


def window_micros(window: _dt.timedelta | None) -> int | None:
    if window is None:
        return None
    return window.days * _MICROS_PER_DAY + window.seconds * 1_000_000 + window.microseconds


def as_of_join(left: DataFrame, right: DataFrame, *, left_keys: list[str], right_keys: list[str],
               left_time: str | None, right_time: str, features: dict[str, str],
               lookback: _dt.timedelta | None = None) -> DataFrame:
    """Add `features` (output name -> feature column of `right`) to every row of `left`.

    With `left_time`, each row gets the newest `right` row with the same keys and
    `right_time <= left_time` (and `right_time >= left_time - lookback` when a lookback is
    given); with `left_time=None`, the newest row of all ("latest snapshot"). No match, or a null
    left time, gives nulls. Output columns: all of `left`'s, then the features, in order.
    """
    left_schema = {f.name: f.dataType for f in left.schema.fields}
    right_schema = {f.name: f.dataType for f in right.schema.fields}
    n = len(left_keys)
    key_cols = [f"__k{i}" for i in range(n)]
    out_names = list(features)
    left_struct = F.struct(*[F.col(f"`{c}`") for c in left.columns])
    feat_struct = F.struct(*[F.col(f"`{src}`").alias(f"f{i}") for i, src in enumerate(features.values())],
                           F.col("__t").alias("ts"))
    r = right.select(*[F.col(f"`{k}`").alias(key_cols[i]) for i, k in enumerate(right_keys)],
                     utc_micros(F.col(f"`{right_time}`"), right_schema[right_time]).alias("__t"),
                     *[F.col(f"`{src}`") for src in features.values()])
    r = r.select(*key_cols, "__t", F.lit(0).alias("__kind"), feat_struct.alias("__f"))
    if left_time is None:
        l_time = F.lit(None).cast("long")
    else:
        l_time = utc_micros(F.col(f"`{left_time}`"), left_schema[left_time])
    l = left.select(*[F.col(f"`{k}`").alias(key_cols[i]) for i, k in enumerate(left_keys)],
                    l_time.alias("__t"), F.lit(1).alias("__kind"), left_struct.alias("__l"))
    empty_l = F.lit(None).cast(l.schema["__l"].dataType)
    empty_f = F.lit(None).cast(r.schema["__f"].dataType)
    union = (l.select(*key_cols, "__t", "__kind", "__l", empty_f.alias("__f"))
             .unionByName(r.select(*key_cols, "__t", "__kind", empty_l.alias("__l"), "__f")))
    if left_time is None:
        # latest snapshot: every left row sees the newest feature row of its key, whatever its time
        w = Window.partitionBy(*key_cols).orderBy(F.col("__kind"), F.col("__t"), F.xxhash64("__f")) \
            .rowsBetween(Window.unboundedPreceding, Window.currentRow)
    else:
        # feature rows sort before left rows at the same instant (ts <= T is inclusive); a hash of
        # the feature values breaks ties between conflicting rows deterministically
        w = Window.partitionBy(*key_cols).orderBy(F.col("__t").asc_nulls_first(), F.col("__kind"),
                                                  F.xxhash64("__f")) \
            .rowsBetween(Window.unboundedPreceding, Window.currentRow)
    matched = union.withColumn("__m", F.last("__f", ignorenulls=True).over(w)).where("__kind = 1")
    ok = F.col("__m").isNotNull()
    if left_time is not None:
        ok = ok & F.col("__t").isNotNull()
        lookback_us = window_micros(lookback)
        if lookback_us is not None:
            ok = ok & (F.col("__m.ts") >= F.col("__t") - F.lit(lookback_us))
    return matched.select(
        *[F.col("__l").getField(c).alias(c) for c in left.columns],
        *[F.when(ok, F.col("__m").getField(f"f{i}")).alias(name) for i, name in enumerate(out_names)])


def exact_join(left: DataFrame, right: DataFrame, *, left_keys: list[str], right_keys: list[str],
               features: dict[str, str]) -> DataFrame:
    """A left join on keys for tables without a timeseries column (one row per key)."""
    key_cols = [f"__k{i}" for i in range(len(left_keys))]
    r = right.select(*[F.col(f"`{k}`").alias(key_cols[i]) for i, k in enumerate(right_keys)],
                     *[F.col(f"`{src}`").alias(f"__f{i}") for i, src in enumerate(features.values())])
    r = r.dropDuplicates(key_cols)
    cond = [F.col(f"`{lk}`").eqNullSafe(F.col(kc)) & F.col(f"`{lk}`").isNotNull()
            for lk, kc in zip(left_keys, key_cols)]
    joined = left.join(r, on=cond if len(cond) > 1 else cond[0], how="left")
    return joined.select(*[F.col(f"`{c}`") for c in left.columns],
                         *[F.col(f"__f{i}").alias(name) for i, name in enumerate(features)])


def sql_as_of_join(spark, left_view: str, right_view: str, *, keys: list[str], left_time: str, right_time: str,
                   features: list[str], lookback: _dt.timedelta | None) -> DataFrame:
    """The same join written as plain Spark SQL: a range join, then `max_by` per left row.

    Kept for the benchmark (scripts/bench_pit.py) and as an independent check; DATE and
    TIMESTAMP columns only.
    """
    on = " AND ".join(f"f.`{k}` = l.`{k}`" for k in keys)
    lt = f"CAST(l.`{left_time}` AS TIMESTAMP)"
    ft = f"CAST(f.`{right_time}` AS TIMESTAMP)"
    window = ""
    if lookback is not None:
        window = f" AND {ft} >= {lt} - make_dt_interval(0, 0, 0, {lookback.total_seconds()})"
    feats = ", ".join(f"max_by(f.`{c}`, {ft}) AS `{c}`" for c in features)
    return spark.sql(f"""
        SELECT __row.*, {', '.join(f'`{c}`' for c in features)} FROM (
          SELECT first(l.__row) AS __row, {feats}
          FROM (SELECT *, struct(*) AS __row, monotonically_increasing_id() AS __id FROM {left_view}) l
          LEFT JOIN {right_view} f ON {on} AND {ft} <= {lt}{window}
          GROUP BY l.__id)""")
