"""An inference table for the local endpoint: one row per scored request, appended to Delta.

Databricks writes such a table for you (AI Gateway inference tables). Locally the client records
each request as it goes and `InferenceLog.flush(spark, table)` appends the rows. What a row holds
follows the data-minimisation rule: a summary of the features (row count, column means, nulls)
and salted hashes of the entity ids, never the raw rows, raw ids or anything that looks like an
e-mail address.
"""
from __future__ import annotations

import hashlib
import json
import re
import threading
from datetime import datetime, timezone

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")

# The Delta schema of the table, in SQL, so that the lab and the tests create the same thing.
SCHEMA_DDL = (
    "request_id STRING NOT NULL, requested_at TIMESTAMP NOT NULL, endpoint STRING, "
    "route STRING, model_name STRING, model_version STRING, status_code INT, error STRING, "
    "n_rows INT, feature_summary STRING, entity_hashes ARRAY<STRING>, "
    "predictions ARRAY<DOUBLE>, prediction_mean DOUBLE, latency_ms DOUBLE"
)
COLUMNS = [part.strip().split(" ")[0] for part in SCHEMA_DDL.split(", ")]


def hash_id(value, salt: str) -> str:
    """A salted SHA-256 of an identifier, cut to 16 hex digits: joinable, not reversible by a
    lookup table of known ids without the salt."""
    return hashlib.sha256(f"{salt}:{value}".encode()).hexdigest()[:16]


def summarize(frame, id_columns=("customer_id",), salt: str = "lakeprep") -> tuple[dict, list[str]]:
    """(feature summary, hashed ids) of a request frame. The summary has the row count and, per
    numeric column, the mean and the null count; text columns only count distinct values."""
    import pandas as pd

    summary: dict = {"rows": int(len(frame)), "columns": {}}
    for column in frame.columns:
        if column in id_columns:
            continue
        series = frame[column]
        if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
            values = pd.to_numeric(series, errors="coerce")
            summary["columns"][column] = {
                "mean": None if values.isna().all() else round(float(values.mean()), 6),
                "nulls": int(values.isna().sum())}
        else:
            summary["columns"][column] = {"distinct": int(series.nunique()),
                                          "nulls": int(series.isna().sum())}
    hashes = [hash_id(v, salt) for c in id_columns if c in frame.columns for v in frame[c]]
    return summary, hashes


class InferenceLog:
    """Collects one record per request (thread-safe), then appends them to a Delta table."""

    def __init__(self, id_columns=("customer_id",), salt: str = "lakeprep"):
        self.id_columns, self.salt = tuple(id_columns), salt
        self.records: list[dict] = []
        self._lock = threading.Lock()

    def record(self, frame, reply, predictions, *, endpoint=None, route: str = "") -> dict:
        summary, hashes = summarize(frame, self.id_columns, self.salt)
        predictions = [float(p) for p in predictions]
        row = {
            "request_id": reply.request_id,
            "requested_at": datetime.now(timezone.utc).replace(tzinfo=None),
            "endpoint": getattr(endpoint, "url", ""),
            "route": route,
            "model_name": getattr(getattr(endpoint, "ref", None), "name", ""),
            "model_version": str(reply.model_version),
            "status_code": int(reply.status),
            "error": reply.error[:200] if not reply.ok else None,
            "n_rows": int(len(frame)),
            "feature_summary": json.dumps(summary, sort_keys=True),
            "entity_hashes": hashes,
            "predictions": predictions,
            "prediction_mean": sum(predictions) / len(predictions) if predictions else None,
            "latency_ms": float(reply.latency_ms),
        }
        with self._lock:
            self.records.append(row)
        return row

    def __len__(self) -> int:
        return len(self.records)

    def to_pandas(self):
        import pandas as pd

        return pd.DataFrame(self.records, columns=COLUMNS)

    def flush(self, spark, table: str) -> int:
        """Append the collected records to `table` (created if missing); return rows written."""
        with self._lock:
            rows, self.records = self.records, []
        spark.sql(f"CREATE TABLE IF NOT EXISTS {table} ({SCHEMA_DDL}) USING DELTA")
        if not rows:
            return 0
        frame = spark.createDataFrame([tuple(r[c] for c in COLUMNS) for r in rows],
                                      schema=SCHEMA_DDL)
        frame.write.format("delta").mode("append").saveAsTable(table)
        return len(rows)


def pii_findings(frame, raw_ids=()) -> list[str]:
    """What in a (pandas) inference-log frame looks like personal data: e-mail addresses in any
    text, or raw entity ids from `raw_ids` appearing as values. Empty when the log is clean."""
    raw = {str(v) for v in raw_ids}
    findings = []
    for column in frame.columns:
        if EMAIL.search(column):
            findings.append(f"column name {column!r} looks like an e-mail address")
        for value in frame[column].dropna().astype(str):
            if EMAIL.search(value):
                findings.append(f"column {column!r} holds an e-mail address")
                break
            quoted = set(re.findall(r"['\"]([^'\"]+)['\"]", value)) if raw else set()
            if raw and (value in raw or quoted & raw):
                findings.append(f"column {column!r} holds a raw entity id")
                break
    return findings
