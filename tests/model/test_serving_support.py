"""Shared helpers for the serving, load-test and canary tests: a throwaway registry in a temp
folder laid out like a workspace (so `LAKEPREP_HOME=<folder>` points the CLI at it), holding a
small scikit-learn pipeline registered under a three-level name in two versions.

Nothing here is mocked: the models are real MLflow models and the servers real processes.
"""
from __future__ import annotations

import os
import socket
from contextlib import contextmanager
from pathlib import Path

import pytest

MODEL = "lakeprep.course.churn_model"   # what `lakeprep serve` serves by default
FEATURES = ["sessions_30d", "spend_30d", "tickets_30d"]


def frame(n: int = 200, seed: int = 0, shift: float = 0.0):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "customer_id": [f"C{seed:02d}{i:05d}" for i in range(n)],
        "sessions_30d": rng.poisson(6 + shift, n).astype("int64"),
        "spend_30d": rng.gamma(2.0, 15.0, n),
        "tickets_30d": rng.poisson(1, n).astype("int64"),
    })


def tracking_uri(home: Path) -> str:
    return f"sqlite:///{home / 'mlflow' / 'mlflow.db'}"


@contextmanager
def using_registry(home: Path):
    """Point this process's MLflow at the registry in `home`; restore the previous URIs after."""
    import mlflow

    saved = {k: os.environ.get(k) for k in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")}
    old_tracking, old_registry = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
    uri = tracking_uri(home)
    os.environ["MLFLOW_TRACKING_URI"] = os.environ["MLFLOW_REGISTRY_URI"] = uri
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    try:
        yield uri
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        mlflow.set_tracking_uri(old_tracking)
        mlflow.set_registry_uri(old_registry)


def build_registry(home: Path) -> dict:
    """Register two versions of a small classifier: v1 `champion`, v2 `challenger`."""
    import mlflow
    from mlflow import MlflowClient
    from mlflow.models import infer_signature
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    (home / "mlflow").mkdir(parents=True, exist_ok=True)
    data = frame(400, seed=1)
    X = data[FEATURES]
    y = (data["sessions_30d"] < 5).astype(int)
    experiment = mlflow.create_experiment(
        "serving-tests", artifact_location=(home / "mlflow" / "artifacts").as_uri())
    mlflow.set_experiment(experiment_id=experiment)
    versions = []
    for c in (1.0, 0.05):   # two genuinely different fits
        model = make_pipeline(StandardScaler(), LogisticRegression(C=c)).fit(X, y)
        info = mlflow.sklearn.log_model(
            model, name="model", signature=infer_signature(X, model.predict_proba(X)),
            input_example=X.head(2), registered_model_name=MODEL,
            pyfunc_predict_fn="predict_proba")
        versions.append(str(info.registered_model_version))
    client = MlflowClient()
    for version in versions:   # as if lab 4's gates had passed both
        client.set_model_version_tag(MODEL, version, "gate_status", "passed")
    client.set_registered_model_alias(MODEL, "champion", versions[0])
    client.set_registered_model_alias(MODEL, "challenger", versions[1])
    return {"name": MODEL, "champion": versions[0], "challenger": versions[1],
            "uri": tracking_uri(home), "home": home}


_SHARED: dict = {}   # one registry per test session, shared by every module that imports this


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    if "registry" not in _SHARED:
        home = tmp_path_factory.mktemp("serving-home")
        with using_registry(home):
            _SHARED["registry"] = build_registry(home)
    shared = _SHARED["registry"]
    with using_registry(shared["home"]):
        yield shared


@pytest.fixture(scope="module")
def champion_endpoint(registry):
    from lakeprep import serving

    with using_registry(registry["home"]):
        with serving.endpoint(f"models:/{MODEL}@champion",
                              folder=registry["home"] / "endpoints") as ep:
            yield ep


@contextmanager
def listening_socket():
    """A port that something really listens on, for the busy-port checks."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


def cli_env(home: Path) -> dict:
    env = dict(os.environ)
    env["LAKEPREP_HOME"] = str(home)
    for key in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI"):
        env.pop(key, None)
    return env
