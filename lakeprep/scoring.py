"""Batch and streaming scoring with a registered model, into Delta tables.

Batch: `score(df, ...)` adds the prediction, the model version and the scoring time to a Spark
DataFrame through `mlflow.pyfunc.spark_udf`; `merge_predictions` writes it with MERGE on the key
(customer_id, cutoff, model_version), inserting only rows that are not there yet, so a rerun of
the same month with the same version adds nothing.

Streaming: `score_stream` reads a Delta table as a stream, scores each micro-batch with the same
UDF and appends to a Delta sink, with a checkpoint and `trigger(availableNow=True)`: each run
processes what arrived since the last one and stops. The checkpoint together with Delta's
transactional sink gives exactly-once output across restarts.
"""
from __future__ import annotations

from dataclasses import dataclass

PREDICTION = "prediction"
KEYS = ("customer_id", "cutoff", "model_version")


@dataclass(frozen=True)
class ResolvedModel:
    name: str
    alias: str | None
    version: str

    @property
    def uri(self) -> str:
        """Pinned to the version, so every row written says exactly which model produced it."""
        return f"models:/{self.name}/{self.version}"


def resolve(name: str, alias: str = "champion") -> ResolvedModel:
    """Resolve an alias to a version once, before scoring (the alias may move later)."""
    from mlflow import MlflowClient

    version = MlflowClient().get_model_version_by_alias(name, alias).version
    return ResolvedModel(name, alias, str(version))


def input_columns(model_uri: str) -> list[str]:
    """The input column names of the model's signature."""
    from mlflow.models import get_model_info

    schema = get_model_info(model_uri).signature
    if schema is None or schema.inputs is None:
        raise ValueError(f"{model_uri} has no input signature; log it with one")
    return schema.inputs.input_names()


def _workers_use_this_python(spark) -> None:
    """On a local master, make Python workers run this interpreter (the venv with pandas and
    MLflow) rather than whatever `python3` is first on PATH. Spark reads PYSPARK_PYTHON once, when
    the context starts; a UDF takes the interpreter from the context when it is created."""
    import os
    import sys

    sc = spark.sparkContext
    if sc.master.startswith("local") and not os.environ.get("PYSPARK_PYTHON") \
            and getattr(sc, "pythonExec", sys.executable) != sys.executable:
        sc.pythonExec = sys.executable


def udf(spark, model_uri: str, result_type: str = "double"):
    """The model as a Spark pandas UDF, loaded in this Python environment."""
    import os

    import mlflow

    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    _workers_use_this_python(spark)
    return mlflow.pyfunc.spark_udf(spark, model_uri, result_type=result_type, env_manager="local")


def score(df, model: ResolvedModel, *, spark=None, columns=None, model_udf=None,
          prediction_col: str = PREDICTION, keep=None):
    """`df` with the prediction, the model version and `scored_at` added. `columns` defaults to
    the signature's inputs; `keep` (default: every column of df) says what else to carry."""
    from pyspark.sql import functions as F

    spark = spark or df.sparkSession
    columns = list(columns) if columns is not None else input_columns(model.uri)
    model_udf = model_udf or udf(spark, model.uri)
    keep = list(keep) if keep is not None else df.columns
    return (df.select(*keep, *[c for c in columns if c not in keep])
            .withColumn(prediction_col, model_udf(*[F.col(c) for c in columns]))
            .withColumn("model_name", F.lit(model.name))
            .withColumn("model_version", F.lit(model.version))
            .withColumn("scored_at", F.current_timestamp()))


def merge_predictions(spark, scored, table: str, keys=KEYS) -> dict:
    """MERGE `scored` into `table` on `keys`, inserting only new keys. Returns the counts."""
    from delta.tables import DeltaTable

    if not spark.catalog.tableExists(table):
        scored.limit(0).write.format("delta").saveAsTable(table)
    target = DeltaTable.forName(spark, table)
    before = target.history(1).collect()[0]["version"]
    condition = " AND ".join(f"t.{k} <=> s.{k}" for k in keys)
    (target.alias("t").merge(scored.alias("s"), condition)
     .whenNotMatchedInsertAll().execute())
    last = target.history(1).collect()[0]
    metrics = (last["operationMetrics"] or {}) if last["version"] > before else {}
    return {"version": int(last["version"]), "committed": last["version"] > before,
            "inserted": int(metrics.get("numTargetRowsInserted", 0)),
            "updated": int(metrics.get("numTargetRowsUpdated", 0)),
            "rows": spark.table(table).count()}


def score_stream(spark, source: str, sink: str, checkpoint: str, model: ResolvedModel, *,
                 columns=None, keep=None, prediction_col: str = PREDICTION, model_udf=None,
                 max_files_per_trigger: int | None = None) -> dict:
    """Score what arrived in the Delta table `source` since the last run, append it to `sink`,
    and stop (availableNow). Returns the rows read in this run and the sink's size."""
    reader = spark.readStream.format("delta")
    if max_files_per_trigger:
        reader = reader.option("maxFilesPerTrigger", max_files_per_trigger)
    stream = reader.table(source)
    scored = score(stream, model, spark=spark, columns=columns, keep=keep,
                   prediction_col=prediction_col, model_udf=model_udf)
    query = (scored.writeStream.format("delta").outputMode("append")
             .option("checkpointLocation", checkpoint)
             .trigger(availableNow=True)
             .toTable(sink))
    query.awaitTermination()
    if query.exception() is not None:
        raise query.exception()
    progress = query.recentProgress
    return {"batches": sum(1 for p in progress if p.get("numInputRows", 0) > 0),
            "rows_in": int(sum(p.get("numInputRows", 0) for p in progress)),
            "sink_rows": spark.table(sink).count()}


# -- the course's scoring population ----------------------------------------------------------------

def churn_features(p, cutoffs, *, fe=None, labels_table: str = "churn_labels", label: bool = False):
    """Customers active at each of `cutoffs` (the rows of `churn_labels`), with the churn
    features looked up as of each cutoff through the feature client (point in time)."""
    from pyspark.sql import functions as F

    from lakeprep.features import churn_feature_lookups, feature_client

    fe = fe or feature_client(p)
    dates = [F.lit(c).cast("date") for c in cutoffs]
    keys = p.spark.table(p.table(labels_table)).where(F.col("cutoff").isin(*dates))
    keys = keys if label else keys.select("customer_id", "cutoff")
    training_set = fe.create_training_set(df=keys, feature_lookups=churn_feature_lookups(p),
                                          label="churned" if label else None)
    return training_set.load_df()


def reset_stream(spark, tables, checkpoint: str) -> None:
    """Drop a stream's tables and its checkpoint, so that a lab rerun starts from nothing."""
    import shutil

    for table in tables:
        spark.sql(f"DROP TABLE IF EXISTS {table}")
    shutil.rmtree(checkpoint, ignore_errors=True)
