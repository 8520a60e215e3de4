"""Models that carry their feature lookups: `log_model` packages them, `score_batch` replays them.

`log_model` logs the model with its own flavor, exactly as `flavor.log_model` would (signature,
input example, requirements, registration), and adds one file to the model directory:
`feature_spec.json`, with the lookups, the label, the columns the model reads and the Delta
versions of the tables the training set read. `mlflow.pyfunc.load_model` therefore returns the
plain model (it predicts from a frame that already holds the features), while `score_batch`
starts from the keys, redoes the lookups and then predicts.
"""
from __future__ import annotations

import inspect
import json
import os

import mlflow

SPEC_FILE = "feature_spec.json"


class _WithFeatureSpec:
    """A stand-in flavor for `mlflow.models.Model.log`: the real flavor saves the model, then
    the feature spec is written next to it and named in the MLmodel metadata."""

    def __init__(self, flavor, model, spec: dict):
        self.flavor, self.model, self.spec = flavor, model, spec
        params = list(inspect.signature(flavor.save_model).parameters)
        # most flavors take the model first (sk_model, xgb_model, ...); pyfunc takes path first
        self.model_param = "python_model" if params[0] == "path" else params[0]

    def save_model(self, path, mlflow_model=None, **kwargs):
        self.flavor.save_model(path=path, mlflow_model=mlflow_model, **{self.model_param: self.model}, **kwargs)
        with open(os.path.join(path, SPEC_FILE), "w") as fh:
            json.dump(self.spec, fh, indent=1, sort_keys=True, default=str)
        if mlflow_model is not None:
            mlflow_model.metadata = dict(mlflow_model.metadata or {}, feature_spec=SPEC_FILE)
            mlflow_model.save(os.path.join(path, "MLmodel"))


def log_model(client, *, model, artifact_path, flavor, training_set=None, registered_model_name=None,
              await_registration_for=300, infer_input_example=False, **kwargs):
    from mlflow.models import Model

    spec = training_set.feature_spec() if training_set is not None else {
        "format": "lakeprep-feature-spec/1", "features": [], "label": None, "exclude_columns": [],
        "feature_columns": [], "input_columns": [], "table_versions": {}}
    if infer_input_example and kwargs.get("input_example") is None and training_set is not None:
        sample = training_set.load_df().limit(5).toPandas()
        kwargs["input_example"] = sample.drop(columns=[spec["label"]] if spec["label"] else [])
    signature = kwargs.get("signature")
    if signature is not None and getattr(signature, "inputs", None) is not None:
        spec["model_columns"] = list(signature.inputs.input_names())
    else:
        spec["model_columns"] = list(spec["input_columns"])
    log_keys = {"metadata", "params", "tags", "model_type", "step", "model_id", "run_id", "resources",
                "auth_policy", "prompts"}
    log_kwargs = {k: kwargs.pop(k) for k in list(kwargs) if k in log_keys}
    return Model.log(artifact_path=None, name=artifact_path, flavor=_WithFeatureSpec(flavor, model, spec),
                     registered_model_name=registered_model_name, await_registration_for=await_registration_for,
                     **log_kwargs, **kwargs)


def load_spec(model_uri: str) -> dict:
    """The feature spec stored with a model logged by `FeatureEngineeringClient.log_model`."""
    from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

    try:
        local = get_artifact_repository(model_uri).download_artifacts(SPEC_FILE)
    except Exception:
        local = os.path.join(mlflow.artifacts.download_artifacts(artifact_uri=model_uri), SPEC_FILE)
    with open(local) as fh:
        return json.load(fh)


def score_batch(client, *, model_uri, df, result_type="double", env_manager="local", params=None):
    from pyspark.sql import functions as F

    from lakeprep.features.entities import FeatureFunction, FeatureLookup

    try:
        spec = load_spec(model_uri)
    except Exception as exc:
        raise ValueError(f"{model_uri} has no {SPEC_FILE}: log it with FeatureEngineeringClient.log_model "
                         f"({type(exc).__name__})") from None
    items = [FeatureLookup.from_dict(d) if d["kind"] == "lookup" else FeatureFunction.from_dict(d)
             for d in spec["features"]]
    joined, _, _ = client._apply_features(df, items, override=True)
    columns = spec["model_columns"]
    missing = [c for c in columns if c not in joined.columns]
    if missing:
        raise ValueError(f"cannot score: column(s) {missing} are neither in df nor looked up by the model")
    predict = mlflow.pyfunc.spark_udf(client.spark, model_uri, result_type=result_type, env_manager=env_manager,
                                      params=params)
    return joined.withColumn("prediction", predict(F.struct(*[F.col(f"`{c}`") for c in columns])))
