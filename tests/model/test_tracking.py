"""Tracking conventions and provenance, against a real MLflow SQLite store in a temp folder."""
from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest


@pytest.fixture(scope="session")
def store(tmp_path_factory):
    """A session-wide SQLite tracking store in a temp folder."""
    import mlflow

    folder = tmp_path_factory.mktemp("mlflow-tracking")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(uri)
    experiment = mlflow.create_experiment("churn-tracking-tests",
                                          artifact_location=(folder / "artifacts").as_uri())
    mlflow.set_tracking_uri(previous)
    return {"uri": uri, "experiment_id": experiment, "folder": folder}


@pytest.fixture(autouse=True)
def _use_store(store):
    import mlflow

    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(store["uri"])
    mlflow.set_experiment(experiment_id=store["experiment_id"])
    yield
    while mlflow.active_run():
        mlflow.end_run()
    mlflow.set_tracking_uri(previous)


def scored(n=1200, seed=0):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"country": rng.choice(["DE", "FR", "US", "tiny"], n, p=[.4, .3, .28, .02]),
                          "plan": rng.choice(["basic", "premium"], n)})
    frame["churned"] = (rng.random(n) < 0.2).astype(int)
    frame["score"] = np.clip(0.5 * frame["churned"] + rng.random(n) * 0.6, 0, 1)
    return frame


def test_experiment_name_convention():
    from lakeprep.tracking import experiment_name

    assert experiment_name("training") == "churn-training"
    assert experiment_name("upgrade-propensity", project="upsell") == "upsell-upgrade-propensity"
    with pytest.raises(ValueError):
        experiment_name("My Experiment")


def test_slice_names_are_accepted_by_mlflow_and_equals_is_not(store):
    import mlflow
    from mlflow.exceptions import MlflowException

    from lakeprep.tracking import slice_metric_name

    name = slice_metric_name("country", "DE", "pr_auc")
    assert name == "slice.country.DE.pr_auc"
    assert slice_metric_name("channel", "paid search/ads", "recall") == \
        "slice.channel.paid_search_ads.recall"
    with mlflow.start_run() as run:
        mlflow.log_metric(name, 0.5)
        with pytest.raises(MlflowException):  # why the convention avoids "country=DE"
            mlflow.log_metric("slice.country=DE.pr_auc", 0.5)
    assert mlflow.get_run(run.info.run_id).data.metrics[name] == 0.5


def test_slice_report_skips_small_slices_and_gate_checks_the_rest():
    from lakeprep.tracking import evaluate_thresholds, slice_metrics, slice_report

    frame = scored()
    report = slice_report(frame, label="churned", score="score", by=["country", "plan"],
                          threshold=0.5, min_rows=50)
    tiny = report[(report.column == "country") & (report.value == "tiny")].iloc[0]
    assert not tiny["measured"] and np.isnan(tiny["pr_auc"])
    metrics = slice_metrics(report)
    assert "slice.country.DE.pr_auc" in metrics and "slice.country.tiny.pr_auc" not in metrics
    assert len(metrics) == 2 * int(report["measured"].sum())
    overall = {"pr_auc": 0.7}
    ok = evaluate_thresholds(overall, report, {"pr_auc_min": 0.5, "slice_pr_auc_min": 0.3})
    assert ok["slice_gate_passed"] and ok["thresholds_passed"]
    strict = evaluate_thresholds(overall, report, {"pr_auc_min": 0.5, "slice_pr_auc_min": 0.999})
    assert not strict["slice_gate_passed"] and not strict["thresholds_passed"]
    assert strict["worst_slice"].startswith(("country=", "plan="))


def test_contract_and_artifacts_are_logged(store):
    import mlflow

    from lakeprep.tracking import (classification_metrics, log_artifact_set, log_contract,
                                   slice_report)

    frame = scored()
    thresholds = {"pr_auc_min": 0.3, "slice_pr_auc_min": 0.3}
    metrics = classification_metrics(frame["churned"], frame["score"], 0.5)
    report = slice_report(frame, label="churned", score="score", by=["country"], threshold=0.5)
    with mlflow.start_run() as run:
        checks = log_contract(metrics, report, thresholds)
        logged = log_artifact_set(y_true=frame["churned"], score=frame["score"], threshold=0.5,
                                  importance={"a": 3.0, "b": 1.0}, report=report,
                                  thresholds=thresholds, sample=frame.head(20))
    data = mlflow.get_run(run.info.run_id).data
    assert data.params["threshold.pr_auc_min"] == "0.3"
    assert data.metrics["thresholds_passed"] == float(checks["thresholds_passed"])
    assert data.metrics["slice.country.DE.pr_auc"] == pytest.approx(
        report.set_index("value").loc["DE", "pr_auc"])
    paths = {a.path for folder in ("plots", "slices", "predictions")
             for a in mlflow.MlflowClient().list_artifacts(run.info.run_id, folder)}
    assert set(logged) <= paths
    assert "plots/roc_pr_curves.png" in paths


def test_best_run_respects_the_constraint_and_parent(store):
    import mlflow

    from lakeprep.tracking import best_run, find_best_candidate, mark_best_candidate

    exp = store["experiment_id"]
    with mlflow.start_run(run_name="parent") as parent:
        ids = {}
        for name, pr_auc, passed in (("a", 0.61, 1), ("b", 0.70, 0), ("c", 0.65, 1)):
            with mlflow.start_run(run_name=name, nested=True, tags={"run_type": "trial"}) as r:
                mlflow.log_metrics({"pr_auc": pr_auc, "slice_gate_passed": passed})
                ids[name] = r.info.run_id
    with mlflow.start_run(run_name="elsewhere"):  # a better run outside this parent
        mlflow.log_metrics({"pr_auc": 0.99, "slice_gate_passed": 1})
    best = best_run(exp, parent_run_id=parent.info.run_id)
    assert best["run_id"] == ids["c"]  # b scores higher but failed its slice gate
    assert best_run(exp, parent_run_id=parent.info.run_id, constraint="")["run_id"] == ids["b"]
    assert best_run(exp, parent_run_id=parent.info.run_id,
                    constraint="metrics.pr_auc > 0.9") is None
    mark_best_candidate(exp, ids["a"])
    mark_best_candidate(exp, ids["c"])
    tagged = mlflow.search_runs([exp], filter_string="tags.best_candidate = 'true'")
    assert list(tagged["run_id"]) == [ids["c"]]
    assert find_best_candidate(exp).info.run_id == ids["c"]


def test_git_commit_outside_a_checkout_is_unknown(tmp_path):
    from lakeprep.provenance import code_version, git_commit

    assert git_commit(tmp_path) == {"sha": "unknown", "dirty": None}
    assert code_version(tmp_path) == "unknown"
    here = git_commit()
    assert here["sha"] == "unknown" or len(here["sha"]) == 40


def test_data_id_depends_only_on_table_versions():
    from lakeprep.provenance import data_id

    a = {"x": {"table": "c.s.x", "version": 3}, "y": {"table": "c.s.y", "version": 1}}
    b = {"y": {"table": "c.s.y", "version": 1, "operation": "MERGE"},
         "x": {"table": "c.s.x", "version": 3}}
    assert data_id(a) == data_id(b)
    assert data_id(a) != data_id({**a, "y": {"table": "c.s.y", "version": 2}})


@pytest.mark.spark
def test_provenance_records_versions_and_time_travel_reads_them_back(platform, store):
    import mlflow

    from lakeprep import provenance

    p = platform
    p.lab, p.seed = 3, 42
    name = "lp_reg_provenance_probe"
    spark = p.spark
    spark.sql(f"DROP TABLE IF EXISTS {p.table(name)}")
    spark.range(5).write.format("delta").saveAsTable(p.table(name))
    record = provenance.collect(p, inputs=[name], seed=42)
    assert record["tables"][name]["version"] == 0
    assert record["tables"][name]["table"] == p.full_name(name)
    assert record["seed"] == 42 and "mlflow" in record["libraries"]
    spark.range(5, 9).write.format("delta").mode("append").saveAsTable(p.table(name))
    assert provenance.drift_since(p, record) == {name: (0, 1)}
    with mlflow.start_run() as run:
        provenance.log(record)
    loaded = provenance.load(run.info.run_id)
    assert loaded == record
    assert provenance.read_as_of(p, name, loaded).count() == 5
    assert spark.table(p.table(name)).count() == 9
    spark.sql(f"DROP TABLE IF EXISTS {p.table(name)}")
