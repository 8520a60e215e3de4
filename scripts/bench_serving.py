"""Serving benchmark: what the HTTP endpoint costs over calling the model in process, and what
micro-batching buys.

    measure(repeats) -> {
        "endpoint_p50_ms_1row", "endpoint_p50_ms_100rows",
        "inprocess_p50_ms_1row", "inprocess_p50_ms_100rows",
        "endpoint_over_inprocess_1row", "endpoint_over_inprocess_100rows",
        "rows_per_s_1row", "rows_per_s_100rows", "batching_gain" (goal >= 20), ...}

Every figure is the median over `repeats` runs in this one process, each run a bounded
closed-loop load test (concurrency 1, warm-up excluded) against a real `mlflow models serve` on
127.0.0.1. The model is the course champion when the workspace has one (LAKEPREP_HOME), else a
small scikit-learn pipeline registered in a temporary registry, so the script always runs.

    .venv/bin/python scripts/bench_serving.py --repeats 3
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

GOAL_BATCHING_GAIN = 20.0
RUN_SECONDS = 2.0
RUN_REQUESTS = 300


def _course_model():
    """(model reference, rows) for the course champion, or None when there is none."""
    import pandas as pd

    from lakeprep import serving
    from lakeprep.errors import LakeprepError
    from lakeprep.platform import get_platform

    p = get_platform("local")
    p.setup_mlflow()
    try:
        ref = serving.resolve(f"{p.model_name('churn_model')}@champion")
    except LakeprepError:
        return None
    from mlflow.models import Model

    example = Model.load(ref.version_uri).load_input_example(ref.version_uri)
    if example is None:
        return None
    rows = pd.concat([pd.DataFrame(example)] * (100 // len(example) + 1), ignore_index=True)
    return f"{ref.name}@champion", rows.head(100)


def _synthetic_model(folder: Path):
    import mlflow
    import numpy as np
    import pandas as pd
    from mlflow import MlflowClient
    from mlflow.models import infer_signature
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    uri = f"sqlite:///{folder / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    import os
    os.environ["MLFLOW_TRACKING_URI"] = os.environ["MLFLOW_REGISTRY_URI"] = uri
    rng = np.random.default_rng(0)
    X = pd.DataFrame({f"f{i}": rng.normal(size=500) for i in range(12)})
    y = (X["f0"] + rng.normal(size=500) > 0).astype(int)
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)
    mlflow.set_experiment(experiment_id=mlflow.create_experiment(
        "bench", artifact_location=(folder / "artifacts").as_uri()))
    name = "lakeprep.bench.synthetic"
    info = mlflow.sklearn.log_model(model, name="model", signature=infer_signature(X, model.predict_proba(X)),
                                    registered_model_name=name, pyfunc_predict_fn="predict_proba")
    MlflowClient().set_registered_model_alias(name, "champion", info.registered_model_version)
    return f"{name}@champion", X.head(100)


def _inprocess_p50_ms(model, frame, budget_s: float = 1.0, max_calls: int = 300) -> float:
    for _ in range(5):
        model.predict(frame)
    samples, deadline = [], time.perf_counter() + budget_s
    while time.perf_counter() < deadline and len(samples) < max_calls:
        started = time.perf_counter()
        model.predict(frame)
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def measure(repeats: int = 3) -> dict:
    import mlflow

    from lakeprep import loadtest, serving

    repeats = max(1, int(repeats))
    with tempfile.TemporaryDirectory(prefix="lakeprep-bench-") as tmp:
        found = _course_model()
        model_ref, rows = found if found else _synthetic_model(Path(tmp))
        source = "course champion" if found else "synthetic sklearn pipeline"
        ref = serving.resolve(model_ref)
        local = mlflow.pyfunc.load_model(ref.version_uri)
        runs = []
        with serving.endpoint(model_ref, folder=Path(tmp) / "endpoints") as ep:
            url = f"{ep.url}/invocations"
            bodies = {n: loadtest.encode_bodies(rows, n) for n in (1, 100)}
            for _ in range(repeats):
                run = {}
                for n in (1, 100):
                    result = loadtest.run(url, bodies[n], rows_per_request=n, concurrency=1,
                                          duration_s=RUN_SECONDS, max_requests=RUN_REQUESTS,
                                          warmup_requests=10).summary()
                    run[f"endpoint_p50_ms_{n}"] = result["p50_ms"]
                    run[f"rows_per_s_{n}"] = result["rows_per_s"]
                    run[f"errors_{n}"] = result["errors"]
                    run[f"inprocess_p50_ms_{n}"] = _inprocess_p50_ms(local, rows.head(n))
                runs.append(run)
            startup_s = ep.started_seconds

    def med(key):
        return statistics.median(r[key] for r in runs)

    out = {
        "model": f"{ref} ({source})",
        "repeats": repeats,
        "endpoint_startup_s": round(startup_s, 2),
        "endpoint_p50_ms_1row": med("endpoint_p50_ms_1"),
        "endpoint_p50_ms_100rows": med("endpoint_p50_ms_100"),
        "inprocess_p50_ms_1row": med("inprocess_p50_ms_1"),
        "inprocess_p50_ms_100rows": med("inprocess_p50_ms_100"),
        "rows_per_s_1row": med("rows_per_s_1"),
        "rows_per_s_100rows": med("rows_per_s_100"),
        "errors": sum(r["errors_1"] + r["errors_100"] for r in runs),
    }
    out["endpoint_over_inprocess_1row"] = out["endpoint_p50_ms_1row"] / out["inprocess_p50_ms_1row"]
    out["endpoint_over_inprocess_100rows"] = out["endpoint_p50_ms_100rows"] / out["inprocess_p50_ms_100rows"]
    out["batching_gain"] = out["rows_per_s_100rows"] / out["rows_per_s_1row"]
    out["batching_goal"] = GOAL_BATCHING_GAIN
    out["batching_goal_met"] = out["batching_gain"] >= GOAL_BATCHING_GAIN
    return {k: round(v, 3) if isinstance(v, float) else v for k, v in out.items()}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    result = measure(args.repeats)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
