"""Batch and streaming scoring into Delta with a real registered model: MERGE reruns add nothing,
a new model version adds its own rows, and a restarted stream scores only new input, once."""
from __future__ import annotations

import os
import shutil

import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.spark

MODEL = "lakeprep.course.scoring_test_model"
FEATURES = ["sessions_30d", "spend_30d"]


def _pyfunc(factor: float):
    """A tiny pyfunc whose output is easy to check by hand: spend times a factor."""
    import mlflow

    class ScaledSpend(mlflow.pyfunc.PythonModel):
        def __init__(self, factor):
            self.factor = factor

        def predict(self, context, model_input):
            return pd.DataFrame({"churn_probability": model_input["spend_30d"] * self.factor})

    return ScaledSpend(factor)


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    import mlflow
    from mlflow import MlflowClient
    from mlflow.models import infer_signature

    home = tmp_path_factory.mktemp("scoring-registry")
    uri = f"sqlite:///{home / 'mlflow.db'}"
    old = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
    saved = {k: os.environ.get(k) for k in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")}
    os.environ["MLFLOW_TRACKING_URI"] = os.environ["MLFLOW_REGISTRY_URI"] = uri
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    experiment = mlflow.create_experiment("scoring", artifact_location=(home / "art").as_uri())
    mlflow.set_experiment(experiment_id=experiment)
    example = pd.DataFrame({"sessions_30d": np.array([1, 2], dtype="int64"), "spend_30d": [0.1, 0.2]})
    versions = []
    for factor in (0.01, 0.02):
        model = _pyfunc(factor)
        info = mlflow.pyfunc.log_model(name="model", python_model=model,
                                       signature=infer_signature(example, model.predict(None, example)),
                                       registered_model_name=MODEL)
        versions.append(str(info.registered_model_version))
    MlflowClient().set_registered_model_alias(MODEL, "champion", versions[0])
    yield {"versions": versions, "home": home}
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    mlflow.set_tracking_uri(old[0])
    mlflow.set_registry_uri(old[1])


def _features(spark, n, start=0, cutoff="2024-03-01"):
    rows = [(f"C{i:05d}", pd.Timestamp(cutoff).date(), int(i % 7), float(i)) for i in range(start, start + n)]
    return spark.createDataFrame(rows, "customer_id STRING, cutoff DATE, sessions_30d BIGINT, spend_30d DOUBLE")


def test_batch_merge_is_idempotent_and_keyed_by_version(platform, registry):
    from lakeprep import scoring
    from mlflow import MlflowClient

    spark = platform.spark
    table = platform.table("test_batch_predictions")
    spark.sql(f"DROP TABLE IF EXISTS {table}")
    model = scoring.resolve(MODEL, "champion")
    assert model.version == registry["versions"][0] and model.uri.endswith(f"/{model.version}")
    features = _features(spark, 25)
    scored = scoring.score(features, model, keep=["customer_id", "cutoff"])
    first = scoring.merge_predictions(spark, scored, table)
    assert first["inserted"] == 25 and first["rows"] == 25
    again = scoring.merge_predictions(spark, scoring.score(features, model, keep=["customer_id", "cutoff"]), table)
    assert again["inserted"] == 0 and again["rows"] == 25
    got = spark.table(table).toPandas().set_index("customer_id").sort_index()
    assert np.allclose(got["prediction"], got.index.str[1:].astype(int) * 0.01)
    assert set(got["model_version"]) == {model.version}

    MlflowClient().set_registered_model_alias(MODEL, "champion", registry["versions"][1])
    newer = scoring.resolve(MODEL, "champion")
    third = scoring.merge_predictions(spark, scoring.score(features, newer, keep=["customer_id", "cutoff"]), table)
    assert third["inserted"] == 25 and third["rows"] == 50
    MlflowClient().set_registered_model_alias(MODEL, "champion", registry["versions"][0])
    keys = spark.table(table).groupBy("customer_id", "cutoff", "model_version").count()
    assert keys.filter("count > 1").count() == 0


def test_stream_restart_scores_only_new_rows_exactly_once(platform, registry):
    from lakeprep import scoring

    spark = platform.spark
    source, sink = platform.table("test_stream_source"), platform.table("test_stream_sink")
    for t in (source, sink):
        spark.sql(f"DROP TABLE IF EXISTS {t}")
    checkpoint = platform.path("checkpoints", "test_stream_sink")
    shutil.rmtree(checkpoint, ignore_errors=True)
    model = scoring.resolve(MODEL, "champion")
    keep = ["customer_id", "cutoff"]

    _features(spark, 12).write.format("delta").saveAsTable(source)
    first = scoring.score_stream(spark, source, sink, checkpoint, model, keep=keep)
    assert first["rows_in"] == 12 and first["sink_rows"] == 12

    idle = scoring.score_stream(spark, source, sink, checkpoint, model, keep=keep)
    assert idle["rows_in"] == 0 and idle["sink_rows"] == 12

    _features(spark, 5, start=12).write.format("delta").mode("append").saveAsTable(source)
    restart = scoring.score_stream(spark, source, sink, checkpoint, model, keep=keep)
    assert restart["rows_in"] == 5 and restart["sink_rows"] == 17

    out = spark.table(sink).toPandas()
    assert out["customer_id"].is_unique and len(out) == 17
    assert np.allclose(out.sort_values("customer_id")["prediction"], np.arange(17) * 0.01)
