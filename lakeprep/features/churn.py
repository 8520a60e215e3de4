"""Lab 2's feature pipelines for the churn model: profile and daily behaviour, batch and
incremental, the backfill of a new feature, and the leakage comparison.

Daily features are rolled up from daily aggregates: events → one row per (customer, day) → a
dense grid of days per customer → range windows of 7 and 30 days over the grid. A feature row
dated D only sees events before D 00:00 UTC (the aggregates of D-1 and earlier).

The incremental run keeps its state where the data is: every write of the daily table carries
its watermark (the ingest time it has seen up to) in the Delta commit's user metadata. The next
run reads it back from DESCRIBE HISTORY, recomputes only the rows that new lines can change
(late events reach back to their event day) and the new days, and merges them.
"""
from __future__ import annotations

import datetime as _dt
import json

from lakeprep import datagen
from lakeprep.featurespec import SPEC_DIR, load_spec
from lakeprep.features import DAILY_TABLE, PROFILE_TABLE

PIPELINE = "customer_daily_features/daily"
BACKFILL = "customer_daily_features/backfill"
CONTEXT_DAYS = 30         # the longest window (and the recency cap): recomputed rows need this much history
KEYS = ["customer_id", "feature_date"]


def specs() -> dict:
    return {PROFILE_TABLE: load_spec(SPEC_DIR / f"{PROFILE_TABLE}.yml"),
            DAILY_TABLE: load_spec(SPEC_DIR / f"{DAILY_TABLE}.yml")}


def _d(x) -> str:
    return x.isoformat() if isinstance(x, (_dt.date, _dt.datetime)) else str(x)


# -- profile --------------------------------------------------------------------------------------

def profile_frame(p):
    return p.spark.sql(f"""
        SELECT customer_id, country, acquisition_channel, currency, to_date(signup_time) AS signup_date
        FROM {p.table('silver_customers')}""")


# -- daily behaviour --------------------------------------------------------------------------------

def daily_frame(p, *, visible_until: _dt.date | None = None, end_date: _dt.date = datagen.DATA_END,
                recompute_from=None, version: int = 1):
    """Daily feature rows up to `end_date`, from events ingested before `visible_until` 00:00 UTC.

    `recompute_from` (a DataFrame of customer_id, from_date) limits the output to those customers
    and days from `from_date` on; None computes every row. `version` picks the spec's columns.
    """
    spark = p.spark
    ingest_filter = f"AND ingest_time < timestamp_seconds(unix_date(DATE'{_d(visible_until)}') * 86400)" \
        if visible_until else ""
    if recompute_from is not None:
        recompute_from.createOrReplaceTempView("_recompute_from")
        targets = "JOIN _recompute_from r ON r.customer_id = s.customer_id"
        start = "greatest(s.grid_start, r.from_date)"
    else:
        targets, start = "", "s.grid_start"
    extra = ", CAST(coalesce(sum(d.tickets) OVER w7, 0) AS INT) AS support_tickets_7d" if version >= 2 else ""
    return spark.sql(f"""
        WITH cancelled AS (
          SELECT customer_id, min(effective_from) AS cancelled_at FROM {p.table('silver_plan_history')}
          WHERE plan_tier = 'cancelled' GROUP BY customer_id),
        spans AS (
          SELECT c.customer_id, to_date(c.signup_time) AS signup_date,
                 greatest(date_add(to_date(c.signup_time), 1), DATE'{_d(datagen.HISTORY_START)}') AS grid_start,
                 least(coalesce(to_date(x.cancelled_at), DATE'{_d(end_date)}'), DATE'{_d(end_date)}') AS grid_end
          FROM {p.table('silver_customers')} c LEFT JOIN cancelled x ON x.customer_id = c.customer_id),
        targets AS (
          SELECT s.customer_id, s.signup_date, s.grid_start, s.grid_end, {start} AS out_start
          FROM spans s {targets}),
        grid AS (
          SELECT customer_id, signup_date, out_start,
                 explode(sequence(greatest(grid_start, date_sub(out_start, {CONTEXT_DAYS})), grid_end)) AS feature_date
          FROM targets WHERE grid_end >= out_start AND grid_end >= grid_start),
        daily AS (
          SELECT e.customer_id, e.event_date,
                 count_if(event_type = 'session') AS sessions, count_if(event_type = 'page_view') AS views,
                 count_if(event_type = 'add_to_cart') AS carts, count_if(event_type = 'purchase') AS purchases,
                 coalesce(sum(CASE WHEN event_type = 'purchase' THEN amount_eur END), 0) AS spend,
                 count_if(event_type = 'support_ticket') AS tickets, count(*) AS events
          FROM {p.table('silver_events')} e
          WHERE e.event_date < DATE'{_d(end_date)}' {ingest_filter}
            AND e.customer_id IN (SELECT customer_id FROM targets)
          GROUP BY e.customer_id, e.event_date),
        rolled AS (
          SELECT g.customer_id, g.feature_date, g.out_start, g.signup_date,
                 CAST(coalesce(sum(d.sessions) OVER w7, 0) AS INT) AS sessions_7d,
                 CAST(coalesce(sum(d.sessions) OVER w30, 0) AS INT) AS sessions_30d,
                 CAST(coalesce(sum(d.views) OVER w30, 0) AS INT) AS page_views_30d,
                 CAST(coalesce(sum(d.carts) OVER w30, 0) AS INT) AS add_to_cart_30d,
                 CAST(coalesce(sum(d.purchases) OVER w30, 0) AS INT) AS purchases_30d,
                 round(coalesce(sum(d.spend) OVER w30, 0), 2) AS spend_30d_eur,
                 CAST(coalesce(sum(d.tickets) OVER w30, 0) AS INT) AS support_tickets_30d,
                 CAST(count(d.events) OVER w30 AS INT) AS active_days_30d,
                 last(CASE WHEN d.events > 0 THEN g.feature_date END, true) OVER w30 AS last_active
                 {extra}
          FROM grid g LEFT JOIN daily d
            ON d.customer_id = g.customer_id AND d.event_date = date_sub(g.feature_date, 1)
          WINDOW w7 AS (PARTITION BY g.customer_id ORDER BY unix_date(g.feature_date) RANGE BETWEEN 6 PRECEDING AND CURRENT ROW),
                 w30 AS (PARTITION BY g.customer_id ORDER BY unix_date(g.feature_date) RANGE BETWEEN {CONTEXT_DAYS - 1} PRECEDING AND CURRENT ROW))
        SELECT r.customer_id, r.feature_date, r.sessions_7d, r.sessions_30d, r.page_views_30d, r.add_to_cart_30d,
               r.purchases_30d, r.spend_30d_eur, r.support_tickets_30d, r.active_days_30d,
               CAST(coalesce(datediff(r.feature_date, r.last_active) + 1, {CONTEXT_DAYS}) AS INT) AS days_since_last_event,
               datediff(r.feature_date, r.signup_date) AS tenure_days,
               h.plan_tier{', r.support_tickets_7d' if version >= 2 else ''}
        FROM rolled r
        JOIN {p.table('silver_plan_history')} h
          ON h.customer_id = r.customer_id
         AND h.effective_from <= timestamp_seconds(unix_date(r.feature_date) * 86400)
         AND (h.effective_to IS NULL OR h.effective_to > timestamp_seconds(unix_date(r.feature_date) * 86400))
        WHERE r.feature_date >= r.out_start AND r.feature_date >= DATE'{_d(datagen.FEATURES_START)}'""")


# -- pipeline state in the Delta history ------------------------------------------------------------

def last_run(p, pipeline: str = PIPELINE) -> dict | None:
    """The user metadata of the newest commit that `pipeline` wrote to the daily table, or None."""
    if not p.table_exists(DAILY_TABLE):
        return None
    rows = p.spark.sql(f"DESCRIBE HISTORY {p.table(DAILY_TABLE)}").select("version", "userMetadata") \
        .where("userMetadata IS NOT NULL").orderBy("version", ascending=False).collect()
    for row in rows:
        try:
            meta = json.loads(row["userMetadata"])
        except (TypeError, ValueError):
            continue
        if meta.get("pipeline") == pipeline:
            return dict(meta, version=row["version"])
    return None


def ensure_daily_table(p, fe, spec, *, version: int = 1):
    """Create the daily table from its spec (keys, timeseries key, description, tags, CHECK rules)."""
    name = p.full_name(DAILY_TABLE)
    if p.table_exists(DAILY_TABLE):
        return fe.get_table(name=name)
    table = fe.create_table(name=name, primary_keys=list(spec.primary_keys), timeseries_column=spec.timeseries_column,
                            schema=spec.spark_schema(version), description=spec.table_description(),
                            tags=spec.table_tags())
    for rule in spec.constraints:
        p.spark.sql(f"ALTER TABLE {p.table(DAILY_TABLE)} ADD CONSTRAINT {rule['name']} CHECK ({rule['expr']})")
    return table


def run_daily(p, fe, spec, *, until: _dt.date, reference: dict | None = None, run_id: str) -> dict:
    """Bring the daily table up to `until`: the first run builds every row (batch), later runs
    only what new data can change (incremental). Validated before every write."""
    from lakeprep import validation

    state = last_run(p)
    info = {"pipeline": PIPELINE, "run_id": run_id, "visible_until": _d(until), "end_date": _d(until)}
    if state and state["visible_until"] >= _d(until):
        return {"mode": "up to date", "watermark": state["visible_until"], "rows": 0, "report": None,
                "written": {"changed_rows": 0, "committed": False}}
    if state is None:
        mode, candidate = "batch", daily_frame(p, visible_until=until, end_date=until)
    else:
        mode = "incremental"
        old = state["visible_until"]
        recompute = p.spark.sql(f"""
            SELECT customer_id, min(from_date) AS from_date FROM (
              SELECT customer_id, date_add(event_date, 1) AS from_date FROM {p.table('silver_events')}
              WHERE ingest_time >= timestamp_seconds(unix_date(DATE'{old}') * 86400)
                AND ingest_time < timestamp_seconds(unix_date(DATE'{_d(until)}') * 86400)
              UNION ALL
              SELECT customer_id, date_add(DATE'{state['end_date']}', 1) FROM {p.table('silver_customers')})
            GROUP BY customer_id""").cache()     # read three times by the query below
        candidate = daily_frame(p, visible_until=until, end_date=until, recompute_from=recompute)
    candidate = candidate.cache()
    try:
        report, written = validation.publish(fe, p.full_name(DAILY_TABLE), candidate, spec, run=f"daily-{mode}",
                                             version=1, reference=reference, commit_info=info)
    finally:
        candidate.unpersist()
        if mode == "incremental":
            recompute.unpersist()
    return {"mode": mode, "watermark": _d(until), "rows": report.rows, "report": report, "written": written}


# -- leakage demo -----------------------------------------------------------------------------------

def naive_frame(p, labels):
    """What a hurried join gives: each customer's newest daily row and today's CRM export,
    whatever the cutoff. Every column here may describe the future of the row's cutoff."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    spark = p.spark
    newest = Window.partitionBy("customer_id").orderBy(F.col("feature_date").desc())
    latest = (spark.table(p.table(DAILY_TABLE)).withColumn("_n", F.row_number().over(newest))
              .where("_n = 1").drop("_n", "feature_date"))
    profile = spark.table(p.table(PROFILE_TABLE)).select("customer_id", "country", "acquisition_channel")
    crm = spark.table(p.table("silver_crm_snapshot")).selectExpr(
        "customer_id", "account_status", "coalesce(cancellation_reason, 'none') AS cancellation_reason",
        "datediff(snapshot_date, to_date(last_login_at)) AS days_since_last_login")
    return labels.join(latest, "customer_id", "left").join(profile, "customer_id", "left") \
        .join(crm, "customer_id", "left")


# -- helpers that keep the lab cells short ------------------------------------------------------------

FIRST_RUN_UNTIL = datagen.DATA_END - _dt.timedelta(days=14)
STAGING_TABLE = "customer_daily_features_backfill_staging"


def reference_path(p) -> str:
    return p.path("profiles", f"{DAILY_TABLE}.json")


def reference_profile(p, run: dict) -> dict:
    """The profile of the first accepted batch: saved when this run built it, read back otherwise."""
    from lakeprep import validation
    if run.get("report") is not None and run["mode"] == "batch":
        validation.save_profile(run["report"], reference_path(p))
    profile = validation.load_profile(reference_path(p))
    if profile is None:
        raise RuntimeError(f"no reference profile at {reference_path(p)}: drop {DAILY_TABLE} and rerun the lab")
    return profile


def publish_profile(p, fe, spec):
    """Create the profile table from its spec when missing, then validate and merge the rows."""
    from lakeprep import validation
    name = p.full_name(PROFILE_TABLE)
    if not p.table_exists(PROFILE_TABLE):
        fe.create_table(name=name, primary_keys=list(spec.primary_keys), schema=spec.spark_schema(),
                        description=spec.table_description(), tags=spec.table_tags())
    return validation.publish(fe, name, profile_frame(p), spec, run="profile-batch")


DEFECTS = ("null_spike", "unit_x100", "duplicate_keys", "schema_change")


def inject_defect(df, kind: str):
    """One of the four defects the validation suite must stop."""
    from pyspark.sql import functions as F
    every = F.xxhash64("customer_id", "feature_date")
    if kind == "null_spike":        # a join upstream silently lost a quarter of the sessions
        return df.withColumn("sessions_7d", F.when(every % 4 == 0, F.lit(None).cast("int"))
                             .otherwise(F.col("sessions_7d")))
    if kind == "unit_x100":         # amounts arrive in cents
        return df.withColumn("spend_30d_eur", F.round(F.col("spend_30d_eur") * 100, 2))
    if kind == "duplicate_keys":    # a retried job appended some rows again, slightly different
        return df.unionByName(df.where(every % 40 == 0).withColumn("sessions_30d", F.col("sessions_30d") + 1))
    if kind == "schema_change":     # someone renamed a column
        return df.withColumnRenamed("spend_30d_eur", "spend_30d")
    raise ValueError(f"unknown defect {kind!r}; choose from {', '.join(DEFECTS)}")


def try_publish(fe, name, df, spec, *, run, reference, version=1):
    """Publish, or return the FeatureValidationError that stopped it (nothing written then)."""
    from lakeprep import validation
    try:
        validation.publish(fe, name, df, spec, run=run, version=version, reference=reference)
    except validation.FeatureValidationError as exc:
        return exc
    return None


def backfill(p, fe, spec, source, *, feature: str, run_id: str) -> dict:
    """Backfill one new feature over the whole history: staging table → validate → one MERGE.

    The MERGE carries `run_id` in the commit's user metadata, so DESCRIBE HISTORY shows which run
    changed the table; rerunning with the same values commits nothing.
    """
    from lakeprep import validation
    staging = p.table(STAGING_TABLE)
    spark = p.spark
    spark.sql(f"DROP TABLE IF EXISTS {staging}")
    source.select(*KEYS, feature).write.saveAsTable(staging)
    staged = spark.table(staging)
    # a failed check raises here and leaves the staging table in place for inspection
    report, written = validation.publish(
        fe, p.full_name(DAILY_TABLE), staged, spec, run=f"backfill-{feature}", version=spec.version,
        columns=[feature], commit_info={"pipeline": BACKFILL, "run_id": run_id, "feature": feature})
    spark.sql(f"DROP TABLE {staging}")
    return {"report": report, "written": written, "run_id": run_id}


def verify_incremental(p, *, since: _dt.date = FIRST_RUN_UNTIL) -> dict:
    """Recompute from scratch (batch, every event) the customers whose history changed after the
    first run, because lines about their past arrived late, and compare with the table both ways."""
    spark = p.spark
    late = spark.sql(f"""
        SELECT DISTINCT customer_id FROM {p.table('silver_events')}
        WHERE ingest_time >= timestamp_seconds(unix_date(DATE'{_d(since)}') * 86400)
          AND event_date < DATE'{_d(since)}'""").cache()
    customers = late.count()
    recompute = late.selectExpr("customer_id", "DATE'1970-01-01' AS from_date")
    batch = daily_frame(p, recompute_from=recompute, version=1).cache()
    spec_columns = batch.columns
    table = spark.table(p.table(DAILY_TABLE)).select(*spec_columns).join(late, "customer_id", "left_semi")
    try:
        row = batch.exceptAll(table).selectExpr("'batch only' AS side").unionByName(
            table.exceptAll(batch).selectExpr("'table only' AS side")).groupBy("side").count().collect()
        rows = batch.count()
    finally:
        batch.unpersist()
        late.unpersist()
    differing = {r["side"]: r["count"] for r in row}
    return {"customers": customers, "rows": rows, "batch_only": differing.get("batch only", 0),
            "table_only": differing.get("table only", 0)}


def backfill_frame(p, feature: str = "support_tickets_7d"):
    """The new feature for every row already in the daily table: support tickets opened in the
    7 days before each feature_date. Tickets are rare, so each ticket day is spread over the seven
    rows it counts in, instead of recomputing the whole grid."""
    if feature != "support_tickets_7d":
        raise ValueError(f"no backfill is defined for {feature!r}")
    return p.spark.sql(f"""
        WITH tickets AS (
          SELECT customer_id, event_date, count(*) AS n FROM {p.table('silver_events')}
          WHERE event_type = 'support_ticket' GROUP BY customer_id, event_date),
        spread AS (
          SELECT customer_id, explode(sequence(date_add(event_date, 1), date_add(event_date, 7))) AS feature_date, n
          FROM tickets),
        counted AS (SELECT customer_id, feature_date, sum(n) AS n FROM spread GROUP BY customer_id, feature_date)
        SELECT k.customer_id, k.feature_date, CAST(coalesce(c.n, 0) AS INT) AS {feature}
        FROM {p.table(DAILY_TABLE)} k LEFT JOIN counted c
          ON c.customer_id = k.customer_id AND c.feature_date = k.feature_date""")
