"""Lab 1's pipeline: raw files → bronze → silver → gold, each step safe to run again.

    manifest = generate_raw(p)     # datagen files under p.path("raw")
    ingest_bronze(p)               # new weekly batches only, with ingest metadata
    build_silver(p)                # typed, UTC, deduplicated; bad lines to the quarantine
    build_gold(p)                  # churn_labels and gold_customer_month
    fingerprints(p, TABLES)        # row counts and content hashes, to prove a rerun changed nothing

Idempotency without blind appends: bronze skips batches it already holds (one append per run,
atomic), silver processes only bronze batches past its watermark and MERGEs on event_id, the other
tables are rebuilt and written with `merge_changes`, which MERGEs only rows that differ and commits
nothing when nothing differs.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from lakeprep import datagen
from lakeprep.commits import commit_info, last_commit, last_commit_info

BRONZE_EVENTS = "bronze_events"
SILVER_EVENTS = "silver_events"
QUARANTINE = "silver_events_quarantine"
SILVER_CUSTOMERS = "silver_customers"
SILVER_PLANS = "silver_plan_history"
SILVER_CRM = "silver_crm_snapshot"
GOLD_MONTH = "gold_customer_month"
LABELS = "churn_labels"
TABLES = (BRONZE_EVENTS, SILVER_EVENTS, QUARANTINE, SILVER_CUSTOMERS, SILVER_PLANS, SILVER_CRM, GOLD_MONTH,
          LABELS)

TIME_FORMAT = "yyyy-MM-dd'T'HH:mm:ssXXX"   # ISO 8601 with Z or an offset such as +02:00
RAW_EVENT_SCHEMA = ("event_id STRING, customer_id STRING, event_type STRING, amount STRING, currency STRING, "
                    "device STRING, event_time STRING, ingest_time STRING, batch STRING")
# Baskets are tens of euros: a batch whose median purchase is above this was sent in cents.
CENTS_MEDIAN_THRESHOLD = 500.0


# -- helpers ---------------------------------------------------------------------------------------

def _sql_list(values) -> str:
    return ", ".join(f"'{v}'" for v in values)


def table_version(p, name: str) -> int | None:
    """The current Delta version of a table (None when it does not exist)."""
    if not p.table_exists(name):
        return None
    return last_commit(p, name)["version"]


def merge_changes(p, name: str, source, keys: list[str], *, create_sql: str | None = None,
                  inputs: str | None = None) -> dict:
    """Make table `name` hold `source`'s rows for these keys, committing only real changes.

    Rows of `source` that already exist unchanged are skipped; when nothing is new or different
    the table gets no commit at all, so a rerun leaves its version and history alone. `inputs`
    names what the rows were computed from (file digests, table versions): it is stored with the
    commit, and when the latest commit was made from the same inputs the step is skipped.
    """
    spark, table = p.spark, p.table(name)
    info = {"step": name, "inputs": inputs} if inputs else None
    if not p.table_exists(name):
        if create_sql:
            # the inputs mark only the commit that holds the rows: if the append fails, the empty
            # table's last commit names no inputs, and the next run does the step again
            spark.sql(create_sql.format(table=table))
            with commit_info(spark, info):
                source.write.mode("append").saveAsTable(table)
        else:
            with commit_info(spark, info):
                source.write.saveAsTable(table)
        return {"table": name, "created": True, "changed_rows": None}
    if inputs and last_commit_info(p, name).get("inputs") == inputs:
        return {"table": name, "created": False, "changed_rows": 0, "skipped": "same inputs"}
    columns = source.columns
    changes = source.exceptAll(spark.table(table).select(*columns)).cache()
    try:
        changed = changes.count()
        if changed:
            view = f"_changes_{name}"
            changes.createOrReplaceTempView(view)
            on = " AND ".join(f"t.`{k}` <=> s.`{k}`" for k in keys)
            with commit_info(spark, info):
                spark.sql(f"MERGE INTO {table} t USING {view} s ON {on} "
                          "WHEN MATCHED THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *")
    finally:
        changes.unpersist()
    return {"table": name, "created": False, "changed_rows": changed}


def raw_digest(p, folder: str) -> str | None:
    """A digest of the raw files under one folder, from the generator's manifest."""
    import hashlib
    manifest = Path(p.path("raw", "_manifest.json"))
    if not manifest.exists():
        return None
    files = json.loads(manifest.read_text())["files"]
    picked = sorted((f, d) for f, d in files.items() if f.startswith(folder + "/"))
    return hashlib.sha256(json.dumps(picked).encode()).hexdigest()[:16] if picked else None


def _versions_text(p, names) -> str:
    """Which commit of each table: version and commit time, so that a table dropped and rebuilt
    to the same version number still reads as different input."""
    return ",".join(f"{n}@{c['version']}@{c['timestamp']}" for n in names for c in [last_commit(p, n)])


def fingerprints(p, names=TABLES) -> dict[str, dict]:
    """Row count and an order-independent content hash per table, in one Spark job."""
    spark = p.spark
    parts = []
    for name in names:
        cols = ", ".join(f"`{c}`" for c in spark.table(p.table(name)).columns)
        parts.append(f"SELECT '{name}' AS name, count(*) AS rows, "
                     f"coalesce(sum(CAST(xxhash64({cols}) AS DECIMAL(38, 0))), 0) AS hash FROM {p.table(name)}")
    rows = spark.sql(" UNION ALL ".join(parts)).collect()
    return {r["name"]: {"rows": int(r["rows"]), "hash": str(r["hash"])} for r in rows}


def versions(p, names=TABLES) -> dict[str, int | None]:
    return {name: table_version(p, name) for name in names}


# -- environment and raw data ----------------------------------------------------------------------

def record_environment(p) -> dict:
    """Versions of everything the labs depend on, saved as JSON evidence next to the lab files."""
    env = dict(p.environment())
    try:
        env["java"] = p.spark.sparkContext._jvm.System.getProperty("java.version")
    except Exception:  # Spark Connect (serverless) has no JVM handle
        env["java"] = None
    env["scale"], env["seed"] = getattr(p, "scale", None), getattr(p, "seed", None)
    path = Path(p.path("_evidence", "environment.json"))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(env, indent=2, sort_keys=True))
    env["evidence_file"] = str(path)
    return env


def generate_raw(p, *, force: bool = False) -> dict:
    """Write the raw files for the lab's seed and scale (reused when already there)."""
    return datagen.write_raw(p.path("raw"), seed=p.seed, scale=p.scale,
                             spark=p.spark if p.scale == "large" else None, force=force)


# -- bronze ----------------------------------------------------------------------------------------

def raw_batches(p) -> list[str]:
    folder = Path(p.path("raw", "events"))
    return sorted(d.name.split("=", 1)[1] for d in folder.iterdir() if d.is_dir() and d.name.startswith("batch="))


def ingest_bronze(p) -> dict:
    """Append the raw event batches that bronze does not hold yet, in one atomic commit.

    Bronze keeps every line as it arrived (strings, duplicates and all) plus where and when it
    was loaded: `_source_file`, `_batch_id`, `_ingested_at`.
    """
    spark, table = p.spark, p.table(BRONZE_EVENTS)
    if not p.table_exists(BRONZE_EVENTS):
        spark.sql(f"CREATE TABLE {table} ({RAW_EVENT_SCHEMA.replace(', batch STRING', '')}, "
                  "_source_file STRING, _batch_id STRING, _ingested_at TIMESTAMP) USING DELTA "
                  "COMMENT 'Raw event lines as delivered, one row per line, with ingest metadata'")
        loaded = set()
    else:
        loaded = {r[0] for r in spark.sql(f"SELECT DISTINCT _batch_id FROM {table}").collect()}
    listed = raw_batches(p)
    new = [b for b in listed if b not in loaded]
    if not new:
        return {"new_batches": [], "skipped": len(listed)}
    base = p.path("raw", "events")
    df = (spark.read.schema(RAW_EVENT_SCHEMA).option("basePath", base)
          .json([os.path.join(base, f"batch={b}") for b in new])
          .selectExpr("event_id", "customer_id", "event_type", "amount", "currency", "device", "event_time",
                      "ingest_time", "_metadata.file_path AS _source_file", "batch AS _batch_id",
                      "current_timestamp() AS _ingested_at"))
    df.write.mode("append").saveAsTable(table)
    return {"new_batches": new, "skipped": len(listed) - len(new)}


# -- silver ----------------------------------------------------------------------------------------

SILVER_EVENTS_DDL = """CREATE TABLE {table} (
  event_id STRING NOT NULL, customer_id STRING NOT NULL, event_type STRING NOT NULL,
  event_time TIMESTAMP NOT NULL, event_date DATE NOT NULL, ingest_time TIMESTAMP,
  amount DOUBLE, currency STRING, amount_eur DOUBLE, device STRING,
  _batch_id STRING NOT NULL, _source_file STRING)
USING DELTA COMMENT 'Events: one row per event_id, times in UTC, typed; bad lines are in silver_events_quarantine'"""

QUARANTINE_DDL = """CREATE TABLE {table} (
  event_id STRING, reason STRING NOT NULL, customer_id STRING, event_type STRING, amount STRING,
  currency STRING, device STRING, event_time STRING, ingest_time STRING, _batch_id STRING, _source_file STRING)
USING DELTA COMMENT 'Event lines that failed a silver rule, with the rule that stopped them'"""


def _classified_events(p, after_batch: str | None):
    """Bronze lines past the silver watermark, deduplicated, each with a quarantine reason or none."""
    spark = p.spark
    bronze = spark.table(p.table(BRONZE_EVENTS))
    if after_batch:
        bronze = bronze.where(f"_batch_id > '{after_batch}'")
    bronze.createOrReplaceTempView("_bronze_increment")
    fx = " ".join(f"WHEN '{c}' THEN {r}" for c, r in datagen.EUR_PER_UNIT.items())
    return spark.sql(f"""
        WITH parsed AS (
          SELECT *, try_to_timestamp(event_time, "{TIME_FORMAT}") AS ts,
                 try_to_timestamp(ingest_time, "{TIME_FORMAT}") AS its,
                 try_cast(amount AS DOUBLE) AS amt
          FROM _bronze_increment),
        first_copy AS (
          SELECT * FROM (
            SELECT *, row_number() OVER (PARTITION BY event_id
                                         ORDER BY its, _batch_id, _source_file, ingest_time) AS copy
            FROM parsed) WHERE copy = 1),
        batch_medians AS (
          SELECT _batch_id, percentile_approx(amt, 0.5) AS median_amount
          FROM parsed WHERE event_type = 'purchase' AND amt > 0 GROUP BY _batch_id)
        SELECT f.*, CASE
            WHEN f.event_id IS NULL THEN 'missing_event_id'
            WHEN f.customer_id IS NULL THEN 'missing_customer_id'
            WHEN f.ts IS NULL THEN 'unparseable_event_time'
            WHEN f.event_type IS NULL OR f.event_type NOT IN ({_sql_list(datagen.EVENT_TYPES)})
              THEN 'unknown_event_type'
            WHEN f.event_type = 'purchase' AND (f.amt IS NULL OR f.amt < 0) THEN 'invalid_amount'
            WHEN f.event_type = 'purchase' AND m.median_amount > {CENTS_MEDIAN_THRESHOLD}
              THEN 'amount_in_cents'
          END AS reason,
          CASE f.currency {fx} END AS fx
        FROM first_copy f LEFT JOIN batch_medians m ON f._batch_id = m._batch_id
    """)


def build_silver(p) -> dict:
    """Silver events (MERGE on event_id) and quarantine, then customers, plan history and CRM."""
    spark = p.spark
    first_run = not p.table_exists(SILVER_EVENTS)
    if first_run:
        spark.sql(SILVER_EVENTS_DDL.format(table=p.table(SILVER_EVENTS)))
        spark.sql(QUARANTINE_DDL.format(table=p.table(QUARANTINE)))
        watermark = None
    else:
        watermark = spark.sql(f"SELECT max(_batch_id) FROM {p.table(SILVER_EVENTS)}").first()[0]
    bronze = spark.table(p.table(BRONZE_EVENTS))
    pending = not (bronze.where(f"_batch_id > '{watermark}'") if watermark else bronze).isEmpty()
    result = {"watermark_before": watermark, "processed": pending}
    if pending:
        classified = _classified_events(p, watermark).cache()
        try:
            quarantined = classified.where("reason IS NOT NULL").selectExpr(
                "event_id", "reason", "customer_id", "event_type", "amount", "currency", "device", "event_time",
                "ingest_time", "_batch_id", "_source_file")
            clean = classified.where("reason IS NULL").selectExpr(
                "event_id", "customer_id", "event_type", "ts AS event_time", "to_date(ts) AS event_date",
                "its AS ingest_time", "amt AS amount", "currency", "round(amt * fx, 2) AS amount_eur", "device",
                "_batch_id", "_source_file")
            if first_run:   # empty targets: nothing to match against, so a plain insert does the same
                quarantined.write.mode("append").saveAsTable(p.table(QUARANTINE))
                clean.write.mode("append").saveAsTable(p.table(SILVER_EVENTS))
            else:
                quarantined.createOrReplaceTempView("_quarantine_increment")
                clean.createOrReplaceTempView("_silver_increment")
                spark.sql(f"""MERGE INTO {p.table(QUARANTINE)} t USING _quarantine_increment s
                              ON t.event_id <=> s.event_id AND t.reason = s.reason AND t._batch_id = s._batch_id
                              WHEN NOT MATCHED THEN INSERT *""")
                spark.sql(f"""MERGE INTO {p.table(SILVER_EVENTS)} t USING _silver_increment s
                              ON t.event_id = s.event_id WHEN NOT MATCHED THEN INSERT *""")
        finally:
            classified.unpersist()
    result["dimensions"] = [_silver_customers(p), _silver_plan_history(p), _silver_crm(p)]
    return result


def _read_csv(p, *parts):
    return p.spark.read.option("header", True).option("inferSchema", False).csv(p.path("raw", *parts))


def _silver_customers(p) -> dict:
    currency = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in datagen.CURRENCY.items())
    df = _read_csv(p, "customers").selectExpr(
        "customer_id", f"to_timestamp(signup_time, \"{TIME_FORMAT}\") AS signup_time", "country",
        "acquisition_channel", f"CASE country {currency} END AS currency")
    return merge_changes(p, SILVER_CUSTOMERS, df, ["customer_id"], inputs=raw_digest(p, "customers"), create_sql=(
        "CREATE TABLE {table} (customer_id STRING NOT NULL, signup_time TIMESTAMP NOT NULL, country STRING, "
        "acquisition_channel STRING, currency STRING) USING DELTA COMMENT 'One row per customer'"))


def _silver_plan_history(p) -> dict:
    _read_csv(p, "plan_history").createOrReplaceTempView("_raw_plans")
    df = p.spark.sql(f"""
        SELECT customer_id, plan_tier, change_reason,
               to_timestamp(effective_from, "{TIME_FORMAT}") AS effective_from,
               lead(to_timestamp(effective_from, "{TIME_FORMAT}")) OVER (
                   PARTITION BY customer_id ORDER BY to_timestamp(effective_from, "{TIME_FORMAT}")) AS effective_to
        FROM _raw_plans""").selectExpr("*", "effective_to IS NULL AS is_current")
    return merge_changes(p, SILVER_PLANS, df, ["customer_id", "effective_from"], inputs=raw_digest(p, "plan_history"),
                         create_sql=(
        "CREATE TABLE {table} (customer_id STRING NOT NULL, plan_tier STRING NOT NULL, change_reason STRING, "
        "effective_from TIMESTAMP NOT NULL, effective_to TIMESTAMP, is_current BOOLEAN) USING DELTA "
        "COMMENT 'Plan tier history (type 2): a row holds from effective_from until effective_to'"))


def _silver_crm(p) -> dict:
    df = _read_csv(p, "crm").selectExpr(
        "customer_id", "to_date(snapshot_date) AS snapshot_date", "account_status", "cancellation_reason",
        f"to_timestamp(last_login_at, \"{TIME_FORMAT}\") AS last_login_at", "plan_tier")
    return merge_changes(p, SILVER_CRM, df, ["customer_id"], inputs=raw_digest(p, "crm"), create_sql=(
        "CREATE TABLE {table} (customer_id STRING NOT NULL, snapshot_date DATE, account_status STRING, "
        "cancellation_reason STRING, last_login_at TIMESTAMP, plan_tier STRING) USING DELTA "
        "COMMENT 'CRM export taken on the snapshot date. Written after outcomes: never a training feature'"))


# -- gold ------------------------------------------------------------------------------------------

def _cutoffs_view(p) -> None:
    values = ", ".join(f"(DATE'{c.isoformat()}')" for c in datagen.ALL_CUTOFFS)
    p.spark.sql(f"SELECT * FROM VALUES {values} AS c(cutoff)").createOrReplaceTempView("_cutoffs")


def labels_frame(p):
    """(customer_id, cutoff, churned) for customers active at each cutoff, from plan history."""
    _cutoffs_view(p)
    return p.spark.sql(f"""
        WITH cancelled AS (
          SELECT customer_id, min(effective_from) AS cancelled_at FROM {p.table(SILVER_PLANS)}
          WHERE plan_tier = 'cancelled' GROUP BY customer_id)
        SELECT c.customer_id, k.cutoff,
               CAST(coalesce(x.cancelled_at <= timestampadd(DAY, {datagen.LABEL_HORIZON_DAYS}, CAST(k.cutoff AS TIMESTAMP)), false) AS INT) AS churned
        FROM {p.table(SILVER_CUSTOMERS)} c CROSS JOIN _cutoffs k
        LEFT JOIN cancelled x ON c.customer_id = x.customer_id
        WHERE c.signup_time < CAST(k.cutoff AS TIMESTAMP)
          AND (x.cancelled_at IS NULL OR x.cancelled_at > CAST(k.cutoff AS TIMESTAMP))""")


def gold_month_frame(p):
    """One row per (customer, cutoff): what was known at the cutoff, plus the label.

    Activity counts cover the 30 days before the cutoff; recency looks back at most 90 days.
    """
    labels_frame(p).createOrReplaceTempView("_labels")
    return p.spark.sql(f"""
        WITH windowed AS (
          SELECT l.customer_id, l.cutoff, e.event_type, e.amount_eur, e.event_time
          FROM _labels l JOIN {p.table(SILVER_EVENTS)} e
            ON e.customer_id = l.customer_id
           AND e.event_time < CAST(l.cutoff AS TIMESTAMP)
           AND e.event_time >= CAST(l.cutoff AS TIMESTAMP) - INTERVAL 90 DAYS),
        activity AS (
          SELECT customer_id, cutoff,
            count_if(event_type = 'session' AND event_time >= CAST(cutoff AS TIMESTAMP) - INTERVAL 30 DAYS) AS sessions_30d,
            count_if(event_type = 'page_view' AND event_time >= CAST(cutoff AS TIMESTAMP) - INTERVAL 30 DAYS) AS page_views_30d,
            count_if(event_type = 'add_to_cart' AND event_time >= CAST(cutoff AS TIMESTAMP) - INTERVAL 30 DAYS) AS add_to_cart_30d,
            count_if(event_type = 'purchase' AND event_time >= CAST(cutoff AS TIMESTAMP) - INTERVAL 30 DAYS) AS purchases_30d,
            coalesce(sum(CASE WHEN event_type = 'purchase' AND event_time >= CAST(cutoff AS TIMESTAMP) - INTERVAL 30 DAYS
                              THEN amount_eur END), 0) AS spend_30d_eur,
            count_if(event_type = 'support_ticket' AND event_time >= CAST(cutoff AS TIMESTAMP) - INTERVAL 30 DAYS) AS support_tickets_30d,
            max(event_time) AS last_event_time
          FROM windowed GROUP BY customer_id, cutoff),
        tier AS (
          SELECT l.customer_id, l.cutoff, h.plan_tier
          FROM _labels l JOIN {p.table(SILVER_PLANS)} h ON h.customer_id = l.customer_id
           AND h.effective_from <= CAST(l.cutoff AS TIMESTAMP)
           AND (h.effective_to IS NULL OR h.effective_to > CAST(l.cutoff AS TIMESTAMP)))
        SELECT l.customer_id, l.cutoff, c.country, c.acquisition_channel, t.plan_tier,
               datediff(l.cutoff, to_date(c.signup_time)) AS tenure_days,
               CAST(coalesce(a.sessions_30d, 0) AS INT) AS sessions_30d,
               CAST(coalesce(a.page_views_30d, 0) AS INT) AS page_views_30d,
               CAST(coalesce(a.add_to_cart_30d, 0) AS INT) AS add_to_cart_30d,
               CAST(coalesce(a.purchases_30d, 0) AS INT) AS purchases_30d,
               round(coalesce(a.spend_30d_eur, 0), 2) AS spend_30d_eur,
               CAST(coalesce(a.support_tickets_30d, 0) AS INT) AS support_tickets_30d,
               least(90, coalesce(datediff(l.cutoff, to_date(a.last_event_time)), 90)) AS days_since_last_event,
               l.churned
        FROM _labels l
        JOIN {p.table(SILVER_CUSTOMERS)} c ON c.customer_id = l.customer_id
        LEFT JOIN activity a ON a.customer_id = l.customer_id AND a.cutoff = l.cutoff
        LEFT JOIN tier t ON t.customer_id = l.customer_id AND t.cutoff = l.cutoff""")


def build_gold(p) -> dict:
    inputs = _versions_text(p, (SILVER_CUSTOMERS, SILVER_PLANS, SILVER_EVENTS))
    if all(p.table_exists(t) and last_commit_info(p, t).get("inputs") == inputs for t in (GOLD_MONTH, LABELS)):
        skipped = {"created": False, "changed_rows": 0, "skipped": "same inputs"}
        return {"gold": {"table": GOLD_MONTH, **skipped}, "labels": {"table": LABELS, **skipped}}
    gold = gold_month_frame(p).cache()
    try:
        month = merge_changes(p, GOLD_MONTH, gold, ["customer_id", "cutoff"], inputs=inputs, create_sql=(
            "CREATE TABLE {table} (customer_id STRING NOT NULL, cutoff DATE NOT NULL, country STRING, "
            "acquisition_channel STRING, plan_tier STRING, tenure_days INT, sessions_30d INT, page_views_30d INT, "
            "add_to_cart_30d INT, purchases_30d INT, spend_30d_eur DOUBLE, support_tickets_30d INT, "
            "days_since_last_event INT, churned INT) USING DELTA "
            "COMMENT 'Monthly customer snapshot at each cutoff (features from before the cutoff) and the label'"))
        labels = merge_changes(p, LABELS, gold.select("customer_id", "cutoff", "churned"),
                               ["customer_id", "cutoff"], inputs=inputs, create_sql=(
            "CREATE TABLE {table} (customer_id STRING NOT NULL, cutoff DATE NOT NULL, churned INT NOT NULL) "
            "USING DELTA COMMENT 'Churned within 30 days after the cutoff, for customers active at the cutoff'"))
    finally:
        gold.unpersist()
    return {"gold": month, "labels": labels}


def run_pipeline(p) -> dict:
    """Every step after the raw files, in order: what a scheduled job would run."""
    return {"bronze": ingest_bronze(p), "silver": build_silver(p), "gold": build_gold(p)}


# -- evidence for the lab's self-checks and plots -------------------------------------------------

def silver_report(p) -> dict:
    """Duplicates removed, quarantine reasons, and proof that offsets were converted to UTC."""
    spark = p.spark
    counts = spark.sql(f"""
        SELECT (SELECT count(*) FROM {p.table(BRONZE_EVENTS)}) AS bronze_rows,
               (SELECT count(DISTINCT event_id) FROM {p.table(BRONZE_EVENTS)}) AS bronze_ids,
               (SELECT count(*) FROM {p.table(SILVER_EVENTS)}) AS silver_rows,
               (SELECT count(DISTINCT event_id) FROM {p.table(SILVER_EVENTS)}) AS silver_ids""").first().asDict()
    reasons = {r["reason"]: r["n"] for r in spark.sql(
        f"SELECT reason, count(*) AS n FROM {p.table(QUARANTINE)} GROUP BY reason").collect()}
    tz = spark.sql(f"""
        WITH offsets AS (
          SELECT event_id, event_time AS raw,
                 unix_timestamp(substr(event_time, 1, 19), "yyyy-MM-dd'T'HH:mm:ss")
                 - (CASE substr(event_time, 20, 1) WHEN '-' THEN -1 ELSE 1 END)
                   * (CAST(substr(event_time, 21, 2) AS INT) * 3600 + CAST(substr(event_time, 24, 2) AS INT) * 60)
                   AS expected_epoch
          FROM {p.table(BRONZE_EVENTS)} WHERE event_time RLIKE '[+-][0-9]{{2}}:[0-9]{{2}}$')
        SELECT count(*) AS offset_rows, count_if(unix_timestamp(s.event_time) = o.expected_epoch) AS correct,
               first(o.raw) AS example_raw, first(s.event_time) AS example_utc
        FROM offsets o JOIN {p.table(SILVER_EVENTS)} s ON s.event_id = o.event_id""").first().asDict()
    return {**counts, "quarantine": reasons, "utc": tz}


def daily_activity(p):
    """Lines and raw purchase amounts per event day in bronze (as delivered), for a plot."""
    return p.spark.sql(f"""
        SELECT CAST(try_to_timestamp(substr(event_time, 1, 10), 'yyyy-MM-dd') AS DATE) AS day, count(*) AS lines,
               sum(CASE WHEN event_type = 'purchase' THEN try_cast(amount AS DOUBLE) END) AS purchase_amount
        FROM {p.table(BRONZE_EVENTS)} GROUP BY 1 HAVING day IS NOT NULL ORDER BY 1""").toPandas()


def label_balance(p):
    return p.spark.sql(f"""SELECT cutoff, count(*) AS customers, sum(churned) AS churned, avg(churned) AS churn_rate
                           FROM {p.table(LABELS)} GROUP BY cutoff ORDER BY cutoff""").toPandas()


def labels_match_truth(p) -> dict:
    """Compare churn_labels with the generator's own labels (raw/truth): both ways, exactly."""
    truth = _read_csv(p, "truth").selectExpr("customer_id", "to_date(cutoff) AS cutoff", "CAST(churned AS INT) AS churned")
    ours = p.spark.table(p.table(LABELS)).select("customer_id", "cutoff", "churned")
    truth.createOrReplaceTempView("_truth")
    ours.createOrReplaceTempView("_ours")
    row = p.spark.sql("""SELECT (SELECT count(*) FROM (SELECT * FROM _ours EXCEPT ALL SELECT * FROM _truth)) AS extra,
                                (SELECT count(*) FROM (SELECT * FROM _truth EXCEPT ALL SELECT * FROM _ours)) AS missing,
                                (SELECT count(*) FROM _truth) AS truth_rows""").first()
    return row.asDict()
