"""Packaging, gates and promotion against a real MLflow SQLite registry in a temp folder.

No mocks: models are trained on small synthetic data, logged as the course's custom pyfunc,
registered, gated and promoted through the same code the lab and `lakeprep promote` use.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[2]
NAME = "lptest.registry.churn_model"
FEATURES_NUM = ["tenure_days", "sessions_30d", "spend_90d"]
FEATURES_CAT = ["country", "plan"]
POLICY_KW = dict(metric="pr_auc", floor=0.35, max_drop=0.02, slice_columns=("country",),
                 slice_floor=0.2, slice_min_rows=40, latency_budget_ms=250.0, latency_samples=15)


def synthetic(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "customer_id": np.arange(n),
        "tenure_days": rng.integers(1, 1000, n),
        "sessions_30d": rng.poisson(6, n).astype("float64"),
        "spend_90d": rng.gamma(2.0, 20.0, n),
        "country": rng.choice(["DE", "FR", "US", "GB"], n, p=[0.3, 0.2, 0.3, 0.2]),
        "plan": rng.choice(["basic", "plus", "pro"], n),
    })
    frame.loc[rng.random(n) < 0.05, "sessions_30d"] = np.nan
    logit = (-0.6 - 0.003 * frame.tenure_days + 1.4 * (frame.sessions_30d.fillna(0) < 4)
             + 0.8 * (frame.plan == "basic") + 0.3 * (frame.country == "US"))
    frame["churned"] = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return frame


@pytest.fixture(scope="session")
def store(tmp_path_factory):
    """A session-wide SQLite tracking + registry store in a temp folder."""
    import mlflow

    folder = tmp_path_factory.mktemp("mlflow-registry")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    previous = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
    mlflow.set_tracking_uri(uri)
    experiment = mlflow.create_experiment("churn-release-tests",
                                          artifact_location=(folder / "artifacts").as_uri())
    mlflow.set_tracking_uri(previous[0])
    return {"uri": uri, "experiment_id": experiment, "folder": folder}


def use(store):
    import mlflow

    mlflow.set_tracking_uri(store["uri"])
    mlflow.set_registry_uri(store["uri"])
    mlflow.set_experiment(experiment_id=store["experiment_id"])


@pytest.fixture(autouse=True)
def _use_store(store):
    """Point MLflow at this store for each test and put back whatever was there before, so
    other test modules never write into it (nor this one into theirs)."""
    import mlflow

    previous = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
    use(store)
    yield
    while mlflow.active_run():
        mlflow.end_run()
    mlflow.set_tracking_uri(previous[0])
    mlflow.set_registry_uri(previous[1])


@pytest.fixture(scope="session")
def data():
    train, holdout = synthetic(1500, 1), synthetic(700, 2)
    return train, holdout


def make_version(data, *, rename=None, shuffle_labels=False, seed=7, description="test"):
    """Train, log (model from code) and register one version; returns the version number."""
    import mlflow

    from lakeprep.models import Preprocessor, log_churn_model, train_booster
    from lakeprep.registry import register_version

    train, _ = data
    train = train.rename(columns=rename or {})
    numeric = [(rename or {}).get(c, c) for c in FEATURES_NUM]
    categorical = [(rename or {}).get(c, c) for c in FEATURES_CAT]
    y = train["churned"].to_numpy()
    if shuffle_labels:
        y = np.random.default_rng(0).permutation(y)
    pre = Preprocessor.fit(train, numeric=numeric, categorical=categorical, decision_threshold=0.4)
    booster = train_booster(pre.transform(train), y, {"max_depth": 3, "eta": 0.2,
                                                      "num_boost_round": 40}, seed=seed)
    with mlflow.start_run(run_name="package", tags={"run_type": "candidate"}) as run:
        info = log_churn_model(booster, pre, train)
    mv = register_version(info.model_uri, NAME, description=description,
                          tags={"data_id": "synthetic", "code_version": "test"},
                          model_description="churn model (tests)")
    assert mv.run_id == run.info.run_id  # lineage to the run that logged it
    return str(mv.version)


def gate(data, version, **overrides):
    from lakeprep.gates import GatePolicy, run_gates

    _, holdout = data
    return run_gates(NAME, version, holdout, label="churned",
                     policy=GatePolicy(**(POLICY_KW | overrides)))


def cli(store, *args):
    env = dict(os.environ, LAKEPREP_HOME=str(store["folder"] / "ws"), USER="ci-bot")
    return subprocess.run([sys.executable, "-m", "lakeprep", "promote", *args,
                           "--registry-uri", store["uri"]],
                          capture_output=True, text=True, env=env, cwd=REPO, timeout=300)


def alias(name, alias_name):
    from lakeprep.registry import alias_version

    return alias_version(name, alias_name)


def tags(version):
    from mlflow import MlflowClient

    return MlflowClient().get_model_version(NAME, str(version)).tags


# -- the scenario, in order: each test builds on the registry state the previous one left --------

@pytest.fixture(scope="session")
def first(store, data):
    import mlflow

    previous = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
    use(store)  # session fixtures run before the per-test autouse one
    try:
        return make_version(data, description="first candidate")
    finally:
        mlflow.set_tracking_uri(previous[0])
        mlflow.set_registry_uri(previous[1])


def test_pyfunc_reproduces_training_predictions(store, data, first):
    import mlflow

    from lakeprep.models import Preprocessor, predict_proba, train_booster

    train, holdout = data
    model = mlflow.pyfunc.load_model(f"models:/{NAME}/{first}")
    served = model.predict(holdout[FEATURES_NUM + FEATURES_CAT])
    pre = Preprocessor.fit(train, numeric=FEATURES_NUM, categorical=FEATURES_CAT)
    again = train_booster(pre.transform(train), train["churned"], {"max_depth": 3, "eta": 0.2,
                                                                   "num_boost_round": 40}, seed=7)
    np.testing.assert_array_equal(served.to_numpy(), predict_proba(again, pre.transform(holdout)))
    labels = model.predict(holdout.head(20), params={"output": "label"})
    assert set(labels.unique()) <= {0, 1}
    sig = model.metadata.signature
    assert sig.inputs.input_names() == FEATURES_NUM + FEATURES_CAT
    assert not next(c for c in sig.inputs.inputs if c.name == "sessions_30d").required
    assert model.metadata.saved_input_example_info is not None


@pytest.fixture(scope="session")
def champion(store, data, first):
    """The first version, gated against the floor (no champion yet) and promoted: the state every
    later scenario starts from, whichever tests are selected."""
    import mlflow

    from lakeprep.promote import promote
    from lakeprep.registry import set_alias

    previous = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
    use(store)
    try:
        before = alias(NAME, "champion")
        report = gate(data, first)
        set_alias(NAME, "challenger", first)
        result = promote(NAME, reason="first release", actor="alice")
        again = promote(NAME, actor="alice")
    finally:
        mlflow.set_tracking_uri(previous[0])
        mlflow.set_registry_uri(previous[1])
    return {"version": first, "before": before, "report": report, "result": result, "again": again}


def test_first_version_is_gated_against_the_floor_and_promoted(store, champion):
    from lakeprep.gates import load_report

    first, report, result = champion["version"], champion["report"], champion["result"]
    assert champion["before"] is None
    assert report.passed, str(report)
    assert report.champion_version is None
    assert "(floor)" in report.result("metric").detail
    saved = load_report(NAME, first)
    assert saved["status"] == "passed" and saved["version"] == first
    assert (result.action, result.version, result.previous) == ("promoted", first, None)
    assert alias(NAME, "champion") == first
    t = tags(first)
    assert t["gate_failed"] == "none"
    assert (t["promoted_by"], t["promotion_reason"], t["previous_champion"]) == \
        ("alice", "first release", "none")
    assert champion["again"].action == "unchanged"


def test_broken_schema_candidate_is_refused_naming_the_gate(store, data, first, champion):
    bad = make_version(data, rename={"country": "country_code"}, description="renamed column")
    report = gate(data, bad)
    assert not report.passed
    assert "signature" in report.failed
    assert "renamed" in report.result("signature").detail
    assert tags(bad)["gate_status"] == "failed"
    done = cli(store, "--model", NAME, "--version", bad, "--reason", "try it")
    assert done.returncode == 3, done.stderr
    assert "signature" in done.stderr and f"v{bad}" in done.stderr
    assert alias(NAME, "champion") == first


def test_worse_metric_candidate_is_refused(store, data, first, champion):
    from lakeprep.promote import PromotionRefused, promote
    from lakeprep.registry import set_alias

    worse = make_version(data, shuffle_labels=True, description="trained on shuffled labels")
    report = gate(data, worse)
    assert "metric" in report.failed and "signature" not in report.failed
    assert report.champion_version == first
    assert report.result("metric").values["champion"] is not None
    set_alias(NAME, "challenger", worse)
    with pytest.raises(PromotionRefused, match="metric"):
        promote(NAME, reason="should not happen")
    assert alias(NAME, "champion") == first


def test_gates_can_fail_on_latency_and_slices(store, data, first, champion):
    strict = gate(data, first, latency_budget_ms=0.001, slice_floor=0.99)
    assert {"latency", "slice"} <= set(strict.failed)
    # the re-gated champion is now tagged failed and may not be promoted again
    assert tags(first)["gate_status"] == "failed"
    assert gate(data, first).passed  # back to the course policy
    assert tags(first)["gate_status"] == "passed"


def test_untested_version_is_refused(store, data, first, champion):
    untested = make_version(data, description="never gated")
    done = cli(store, "--model", NAME, "--version", untested)
    assert done.returncode == 3
    assert "no gate_status" in done.stderr
    assert alias(NAME, "champion") == first


def test_promote_better_then_rollback_through_the_cli(store, data, first, champion):
    from lakeprep.registry import set_alias

    second = make_version(data, seed=8, description="refit")
    assert gate(data, second).passed
    set_alias(NAME, "challenger", second)
    done = cli(store, "--model", NAME, "--reason", "refit on more months")
    assert done.returncode == 0, done.stderr
    assert f"v{second}" in done.stdout and alias(NAME, "champion") == second
    t = tags(second)
    assert (t["promoted_by"], t["previous_champion"], t["promoted_from"]) == \
        ("ci-bot", first, "@challenger")
    assert t["promoted_at"].endswith("Z")

    back = cli(store, "--model", NAME, "--rollback", "--reason", "incident", "--actor", "oncall")
    assert back.returncode == 0, back.stderr
    assert alias(NAME, "champion") == first
    assert tags(second)["rolled_back_by"] == "oncall"
    assert tags(first)["restored_from"] == f"v{second}"
    # the restored champion recorded no predecessor of its own: a second rollback has nowhere to go
    again = cli(store, "--model", NAME, "--rollback")
    assert again.returncode == 2 and "nothing to roll back" in again.stderr


def test_rerun_never_moves_champion_to_a_failed_version(store, data, first, champion):
    """What rerunning the labs does: new versions keep arriving; failing ones never take over."""
    from lakeprep.promote import PromotionRefused, promote
    from lakeprep.registry import set_alias

    before = alias(NAME, "champion")
    for attempt in range(2):
        bad = make_version(data, shuffle_labels=True, seed=20 + attempt)
        assert not gate(data, bad).passed
        set_alias(NAME, "challenger", bad)
        with pytest.raises(PromotionRefused):
            promote(NAME, reason=f"rerun {attempt}")
        assert alias(NAME, "champion") == before


@pytest.mark.parametrize("args, message", [
    (["--model", "lptest.registry.no_such_model"], "`lptest.registry.no_such_model` does not exist"),
    (["--model", NAME, "--from", "no_such_alias"], "no alias `@no_such_alias`"),
    (["--model", NAME, "--version", "999"], "no version 999"),
    (["--model", "not.a.valid.name"], "three-level"),
])
def test_cli_names_what_is_missing(store, first, args, message):
    done = cli(store, *args)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert message in done.stderr


def test_cli_maps_a_bare_name_through_the_platform(store, first):
    done = cli(store, "--model", "churn_model", "--catalog", "lptest", "--schema", "nowhere")
    assert done.returncode == 2
    assert "`lptest.nowhere.churn_model` does not exist" in done.stderr


def test_preprocessor_copes_with_unseen_levels_missing_numbers_and_missing_columns():
    from lakeprep.models import Preprocessor

    train = pd.DataFrame({"n": [1, 2, 3, 4], "x": [0.5, None, 1.5, 2.0],
                          "plan": ["basic", "pro", "basic", None], "day": pd.to_datetime(["2025-01-01"] * 4)})
    with pytest.raises(TypeError, match="day"):
        Preprocessor.infer(train)
    pre = Preprocessor.infer(train, exclude=["day"])
    assert (pre.numeric, pre.categorical) == (["n", "x"], ["plan"])
    assert pre.feature_names == ["n", "x", "plan__basic", "plan__pro"]
    later = pd.DataFrame({"n": [5], "x": [None], "plan": ["enterprise"]})
    row = pre.transform(later).iloc[0]
    assert np.isnan(row["x"]) and row["plan__basic"] == 0 and row["plan__pro"] == 0
    again = Preprocessor.from_dict(pre.to_dict())
    pd.testing.assert_frame_equal(again.transform(train), pre.transform(train))
    with pytest.raises(KeyError, match="plan"):
        pre.transform(later.drop(columns=["plan"]))
