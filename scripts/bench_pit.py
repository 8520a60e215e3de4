#!/usr/bin/env python
"""Benchmark the point-in-time training-set join against a plain Spark SQL formulation.

    .venv/bin/python scripts/bench_pit.py                   # medium scale, 3 runs of each
    .venv/bin/python scripts/bench_pit.py --scale small --repeats 5

Builds the churn features of one scale in a schema of its own (`bench_pit_<scale>`, so no lab
table is touched): silver tables straight from `lakeprep.datagen`, the daily feature table with
lab 2's pipeline (`lakeprep.features.churn.daily_frame`), the labels at the monthly cutoffs. Then it
times, in one Spark session and alternating the two:

- `fe`:  `FeatureEngineeringClient.create_training_set` with a 3-day point-in-time lookup
         (a union of both sides and a running window, one shuffle);
- `sql`: the same join as a range join and `max_by` per label row (`pit.sql_as_of_join`).

Each timed run writes the full result to Spark's `noop` sink, so everything is computed and nothing
is collected. The two results are compared (row count and content hash) before timing. Medians are
printed and written to build/bench-pit.json; nothing here asserts a time.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", default="medium", choices=["small", "medium", "large", "tiny"])
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--lookback-days", type=int, default=3,
                        help="the lookback window in days; -1 for none (the SQL range join then pairs each "
                             "label row with every earlier feature row)")
    parser.add_argument("--out", default=str(REPO / "build" / "bench-pit.json"))
    args = parser.parse_args(argv)
    os.environ.setdefault("LAKEPREP_HOME", str(Path(tempfile.gettempdir()) / "lakeprep-bench-pit"))

    from pyspark.sql import functions as F

    from lakeprep import datagen
    from lakeprep.features import FeatureEngineeringClient, FeatureLookup, churn, pit
    from lakeprep.platform import get_platform

    p = get_platform("local", schema=f"bench_pit_{args.scale}")
    p.seed, p.scale, p.lab = args.seed, args.scale, 2
    spark = p.spark
    fe = FeatureEngineeringClient(platform=p)
    timings: dict[str, float] = {}

    started = time.monotonic()
    setup = _build(p, fe, datagen, churn, args)
    timings["setup_seconds"] = round(time.monotonic() - started, 1)

    daily = p.full_name(churn.DAILY_TABLE)
    labels = spark.table(p.table("bench_labels")).cache()
    labels.count()
    features = [c for c in spark.table(p.table(churn.DAILY_TABLE)).columns if c not in churn.KEYS]
    window = None if args.lookback_days < 0 else dt.timedelta(days=args.lookback_days)

    def fe_join():
        return fe.create_training_set(df=labels, label="churned", feature_lookups=[
            FeatureLookup(daily, "customer_id", timestamp_lookup_key="cutoff", lookback_window=window)]).load_df()

    def sql_join():
        labels.createOrReplaceTempView("bench_left")
        spark.table(p.table(churn.DAILY_TABLE)).createOrReplaceTempView("bench_right")
        return pit.sql_as_of_join(spark, "bench_left", "bench_right", keys=["customer_id"], left_time="cutoff",
                                  right_time="feature_date", features=features, lookback=window)

    def fingerprint(df):
        cols = ", ".join(f"`{c}`" for c in sorted(df.columns))
        return df.selectExpr(f"xxhash64({cols}) AS h").agg(
            F.count(F.lit(1)).alias("rows"), F.sum(F.col("h").cast("decimal(38,0)")).alias("hash")).first().asDict()

    same = fingerprint(fe_join()) == fingerprint(sql_join())
    runs = {"fe": [], "sql": []}
    for _ in range(args.repeats):
        for name, build in (("fe", fe_join), ("sql", sql_join)):
            t = time.monotonic()
            build().write.format("noop").mode("overwrite").save()
            runs[name].append(round(time.monotonic() - t, 2))
    result = {
        "scale": args.scale, "seed": args.seed, "repeats": args.repeats, "lookback_days": args.lookback_days,
        "label_rows": setup["label_rows"], "feature_rows": setup["feature_rows"], "customers": setup["customers"],
        "results_identical": same, "runs_seconds": runs,
        "median_seconds": {k: statistics.median(v) for k, v in runs.items()},
        "spark": spark.version, "cores": os.cpu_count(), "load_average": os.getloadavg(),
        "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **timings,
    }
    result["sql_over_fe"] = round(result["median_seconds"]["sql"] / result["median_seconds"]["fe"], 2)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    lookback = "no" if window is None else f"{args.lookback_days}-day"
    print(f"PIT join at {args.scale}: {setup['label_rows']:,} label rows x {setup['feature_rows']:,} feature rows, "
          f"{lookback} lookback")
    print(f"  results identical: {same}")
    for name in ("fe", "sql"):
        print(f"  {name:<4} median {result['median_seconds'][name]:7.2f} s  runs {runs[name]}")
    print(f"  sql / fe = {result['sql_over_fe']}  (written to {out})")
    spark.stop()
    return 0 if same else 1


def _build(p, fe, datagen, churn, args) -> dict:
    """Silver tables and the daily feature table for the scale; reused when already built."""
    spark = p.spark
    marker = Path(p.path("bench_pit_built.json"))
    if marker.exists() and p.table_exists(churn.DAILY_TABLE):
        return json.loads(marker.read_text())
    import pandas as pd
    spark.conf.set("spark.sql.execution.arrow.pyspark.enabled", "true")     # pandas -> Spark in batches
    frames = datagen.frames(args.seed, args.scale)
    customers = frames["customers"].assign(signup_time=lambda d: pd.to_datetime(d["signup_time"], utc=True))
    plans = frames["plan_history"].assign(effective_from=lambda d: pd.to_datetime(d["effective_from"], utc=True))
    plans = plans.sort_values(["customer_id", "effective_from"])
    plans["effective_to"] = plans.groupby("customer_id")["effective_from"].shift(-1)
    events = frames["events"]
    events = events[events["customer_id"].notna() & events["event_type"].isin(datagen.EVENT_TYPES)
                    & (events["batch"] != datagen.CENTS_BATCH)].drop_duplicates("event_id")
    t = pd.to_datetime(events["event_time"], utc=True, errors="coerce", format="ISO8601")
    events = pd.DataFrame({
        "customer_id": events["customer_id"], "event_type": events["event_type"],
        "event_time": t, "event_date": t.dt.date, "ingest_time": pd.to_datetime(events["ingest_time"], utc=True),
        "amount_eur": events["amount"].fillna(0.0)}).dropna(subset=["event_time"])
    for name, pdf in (("silver_customers", customers), ("silver_plan_history", plans), ("silver_events", events)):
        spark.sql(f"DROP TABLE IF EXISTS {p.table(name)}")
        spark.createDataFrame(pdf).write.saveAsTable(p.table(name))
    labels = frames["labels"]
    labels = labels[labels["cutoff"].isin([c.isoformat() for c in datagen.CUTOFFS])]
    spark.sql(f"DROP TABLE IF EXISTS {p.table('bench_labels')}")
    spark.createDataFrame(labels).selectExpr("customer_id", "to_date(cutoff) AS cutoff", "CAST(churned AS INT) AS churned") \
        .write.saveAsTable(p.table("bench_labels"))
    name = p.full_name(churn.DAILY_TABLE)
    if p.table_exists(churn.DAILY_TABLE):
        fe.drop_table(name=name)
    daily = churn.daily_frame(p, version=1)
    fe.create_table(name=name, primary_keys=churn.KEYS, timeseries_column="feature_date", df=daily,
                    description="benchmark copy of the daily churn features")
    info = {"customers": len(customers), "label_rows": len(labels),
            "feature_rows": spark.table(p.table(churn.DAILY_TABLE)).count()}
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps(info))
    return info


if __name__ == "__main__":
    sys.exit(main())
