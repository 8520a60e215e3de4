"""Tracking conventions for the churn project: experiment names, the tag set, metrics as a contract
(primary metric, slice metrics, logged thresholds, a pass/fail metric), the artifact set, and
finding the best run by query.

Everything here writes to whatever MLflow run is active, so a notebook decides the run structure
(parent, nested trials) and these helpers keep the contents the same in every run.
"""
from __future__ import annotations

import getpass
import os
import re

import numpy as np
import pandas as pd

PROJECT = "churn"
SLICE_PREFIX = "slice"
BEST_TAG = "best_candidate"
TAG_KEYS = ("project", "owner", "env", "data_id", "code_version", "run_type")
RUN_TYPES = ("parent", "trial", "candidate", "reproduction", "gate", "evaluation", "demo")


# -- names and tags ------------------------------------------------------------------------------

def experiment_name(purpose: str, project: str = PROJECT) -> str:
    """`<project>-<purpose>`, e.g. churn-training: what the runs are for, not how they were made.
    The platform puts it where the target keeps experiments (a workspace folder on Databricks)."""
    if not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", purpose):
        raise ValueError(f"experiment purpose {purpose!r}: use lower-case words joined by dashes")
    return f"{project}-{purpose}"


def owner() -> str:
    return os.environ.get("LAKEPREP_OWNER") or os.environ.get("USER") or getpass.getuser()


def run_tags(p, *, run_type: str, data_id: str, code_version: str, project: str = PROJECT,
             extra: dict | None = None) -> dict:
    """The tag set every run carries: project, owner, env, data id, code version, run type."""
    if run_type not in RUN_TYPES:
        raise ValueError(f"run_type {run_type!r}: use one of {', '.join(RUN_TYPES)}")
    tags = {"project": project, "owner": owner(), "env": p.target, "data_id": data_id,
            "code_version": code_version, "run_type": run_type}
    tags.update(extra or {})
    return tags


# -- metrics -------------------------------------------------------------------------------------

def classification_metrics(y_true, score, threshold: float) -> dict:
    """Primary metric (pr_auc = average precision) and guard rails, for one decision threshold."""
    from sklearn.metrics import (average_precision_score, brier_score_loss, f1_score,
                                 precision_score, recall_score, roc_auc_score)

    y_true = np.asarray(y_true).astype(int)
    score = np.asarray(score, dtype="float64")
    label = (score >= threshold).astype(int)
    return {
        "pr_auc": float(average_precision_score(y_true, score)),
        "roc_auc": float(roc_auc_score(y_true, score)),
        "precision": float(precision_score(y_true, label, zero_division=0)),
        "recall": float(recall_score(y_true, label, zero_division=0)),
        "f1": float(f1_score(y_true, label, zero_division=0)),
        "brier": float(brier_score_loss(y_true, score)),
        "positive_rate": float(y_true.mean()),
        "flagged_rate": float(label.mean()),
    }


def best_f1_threshold(y_true, score) -> float:
    """The probability cut that maximises F1 on these rows, rounded to a readable value."""
    from sklearn.metrics import precision_recall_curve

    precision, recall, cuts = precision_recall_curve(np.asarray(y_true).astype(int),
                                                     np.asarray(score, dtype="float64"))
    f1 = 2 * precision * recall / np.clip(precision + recall, 1e-12, None)
    return round(float(cuts[int(np.argmax(f1[:-1]))]), 4)


def _name_part(value) -> str:
    # MLflow metric names allow letters, digits, _ - . / space (and : off Windows): no "=".
    return re.sub(r"[^A-Za-z0-9_-]", "_", str(value)) or "_"


def slice_metric_name(column: str, value, metric: str) -> str:
    """`slice.<column>.<value>.<metric>`, e.g. slice.country.DE.pr_auc."""
    return f"{SLICE_PREFIX}.{_name_part(column)}.{_name_part(value)}.{metric}"


def slice_report(frame: pd.DataFrame, *, label: str, score: str, by, threshold: float,
                 min_rows: int = 30, min_positives: int = 5) -> pd.DataFrame:
    """One row per (column, value): size, positives and metrics. Slices too small to measure
    (fewer than `min_rows` rows or `min_positives` positives, or no negatives) are kept with
    `measured=False` instead of a number that is mostly noise."""
    from sklearn.metrics import average_precision_score, recall_score, roc_auc_score

    rows = []
    for column in by:
        for value, part in frame.groupby(frame[column].fillna("(null)").astype(str), sort=True):
            y = part[label].astype(int).to_numpy()
            s = part[score].to_numpy(dtype="float64")
            measured = len(part) >= min_rows and min_positives <= y.sum() < len(y)
            rows.append({
                "column": column, "value": value, "rows": len(part), "positives": int(y.sum()),
                "measured": measured,
                "pr_auc": float(average_precision_score(y, s)) if measured else np.nan,
                "roc_auc": float(roc_auc_score(y, s)) if measured else np.nan,
                "recall": float(recall_score(y, (s >= threshold).astype(int), zero_division=0))
                if measured else np.nan,
            })
    return pd.DataFrame(rows)


def slice_metrics(report: pd.DataFrame, metrics=("pr_auc", "roc_auc")) -> dict:
    """The measured slices of a report as MLflow metrics under the naming convention."""
    out = {}
    for row in report[report["measured"]].itertuples():
        for metric in metrics:
            out[slice_metric_name(row.column, row.value, metric)] = float(getattr(row, metric))
    return out


def evaluate_thresholds(metrics: dict, report: pd.DataFrame, thresholds: dict) -> dict:
    """Check the contract. `thresholds` may hold `pr_auc_min` (overall) and `slice_pr_auc_min`
    (every measured slice). Returns {check: passed} plus the worst slice for the record."""
    checks = {}
    if "pr_auc_min" in thresholds:
        checks["overall_gate_passed"] = metrics["pr_auc"] >= thresholds["pr_auc_min"]
    measured = report[report["measured"]]
    if "slice_pr_auc_min" in thresholds:
        checks["slice_gate_passed"] = bool(len(measured)) and \
            bool((measured["pr_auc"] >= thresholds["slice_pr_auc_min"]).all())
    checks["thresholds_passed"] = all(checks.values())
    worst = measured.sort_values("pr_auc").head(1)
    checks["worst_slice"] = (f"{worst.iloc[0]['column']}={worst.iloc[0]['value']}"
                             if len(worst) else "none")
    return checks


def log_contract(metrics: dict, report: pd.DataFrame, thresholds: dict) -> dict:
    """Log what autolog cannot know: thresholds (params), slice metrics, pass/fail metrics (1/0)
    and the slice report. Returns the checks."""
    import mlflow

    checks = evaluate_thresholds(metrics, report, thresholds)
    mlflow.log_params({f"threshold.{k}": v for k, v in thresholds.items()})
    values = dict(metrics)
    values.update(slice_metrics(report))
    values.update({k: float(v) for k, v in checks.items() if isinstance(v, bool)})
    mlflow.log_metrics(values)
    mlflow.set_tag("worst_slice", checks["worst_slice"])
    mlflow.log_text(report.to_csv(index=False), "slices/slice_report.csv")
    return checks


# -- artifacts -----------------------------------------------------------------------------------

def figure(width: float, height: float, ncols: int = 1):
    """A matplotlib Figure drawn by the Agg (PNG) canvas, outside pyplot: nothing global changes,
    so a job, a papermill kernel and an interactive notebook behave alike and nothing piles up."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, ncols)
    return fig, axes


def show(fig):
    """Display a figure in a notebook as a PNG (works whatever matplotlib backend is active)."""
    import io

    from IPython.display import Image

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    return Image(data=buffer.getvalue())


def plot_curves(y_true, score):
    """ROC and precision-recall curves side by side."""
    from sklearn.metrics import (average_precision_score, precision_recall_curve, roc_auc_score,
                                 roc_curve)

    y_true = np.asarray(y_true).astype(int)
    fig, (roc_ax, pr_ax) = figure(9, 4, ncols=2)
    fpr, tpr, _ = roc_curve(y_true, score)
    roc_ax.plot(fpr, tpr, label=f"AUC {roc_auc_score(y_true, score):.3f}")
    roc_ax.plot([0, 1], [0, 1], linestyle=":", color="grey")
    roc_ax.set(title="ROC", xlabel="false positive rate", ylabel="true positive rate")
    precision, recall, _ = precision_recall_curve(y_true, score)
    pr_ax.plot(recall, precision, label=f"AP {average_precision_score(y_true, score):.3f}")
    pr_ax.axhline(y_true.mean(), linestyle=":", color="grey", label="base rate")
    pr_ax.set(title="Precision-recall", xlabel="recall", ylabel="precision")
    for ax in (roc_ax, pr_ax):
        ax.legend(loc="best")
    fig.tight_layout()
    return fig


def plot_confusion(y_true, score, threshold: float):
    from sklearn.metrics import confusion_matrix

    matrix = confusion_matrix(np.asarray(y_true).astype(int),
                              (np.asarray(score) >= threshold).astype(int), labels=[0, 1])
    fig, ax = figure(3.8, 3.4)
    ax.imshow(matrix, cmap="Blues")
    for (i, j), count in np.ndenumerate(matrix):
        ax.text(j, i, str(count), ha="center", va="center",
                color="white" if count > matrix.max() / 2 else "black")
    ax.set(xticks=[0, 1], yticks=[0, 1], xticklabels=["stays", "churns"],
           yticklabels=["stays", "churns"], xlabel="predicted", ylabel="actual",
           title=f"threshold {threshold:.3f}")
    fig.tight_layout()
    return fig


def plot_importance(importance: dict, top: int = 15):
    items = sorted(importance.items(), key=lambda kv: kv[1])[-top:]
    fig, ax = figure(6, 0.3 * len(items) + 1)
    ax.barh([k for k, _ in items], [v for _, v in items])
    ax.set(title="feature importance (gain)", xlabel="total gain")
    fig.tight_layout()
    return fig


def slice_report_html(report: pd.DataFrame, thresholds: dict) -> str:
    floor = thresholds.get("slice_pr_auc_min")
    shown = report.copy()
    if floor is not None:
        shown["passes"] = np.where(shown["measured"], shown["pr_auc"] >= floor, None)
    return ("<h3>Slice report</h3>"
            + (f"<p>every measured slice needs PR-AUC ≥ {floor}</p>" if floor is not None else "")
            + shown.to_html(index=False, float_format=lambda v: f"{v:.4f}", na_rep="–"))


def log_artifact_set(*, y_true, score, threshold: float, importance: dict,
                     report: pd.DataFrame, thresholds: dict, sample: pd.DataFrame) -> dict:
    """The candidate's artifact set: curves, confusion matrix, importance, slice report, sample
    predictions. Returns {artifact path: Figure or None} so a notebook can show the plots."""
    import mlflow

    figures = {"plots/roc_pr_curves.png": plot_curves(y_true, score),
               "plots/confusion_matrix.png": plot_confusion(y_true, score, threshold),
               "plots/feature_importance.png": plot_importance(importance)}
    for path, fig in figures.items():
        mlflow.log_figure(fig, path)
    texts = {"slices/slice_report.html": slice_report_html(report, thresholds),
             "slices/slice_report.csv": report.to_csv(index=False),
             "predictions/sample_predictions.csv": sample.to_csv(index=False)}
    for path, text in texts.items():
        mlflow.log_text(text, path)
    return figures | dict.fromkeys(texts)


# -- finding runs --------------------------------------------------------------------------------

def best_run(experiment_id: str, *, parent_run_id: str | None = None,
             constraint: str = "metrics.slice_gate_passed = 1", metric: str = "pr_auc",
             run_type: str | None = None) -> pd.Series | None:
    """The run with the highest `metric` among those that satisfy `constraint` (an MLflow
    search filter), optionally only the children of one parent run."""
    import mlflow

    clauses = [constraint] if constraint else []
    if parent_run_id:
        clauses.append(f"tags.mlflow.parentRunId = '{parent_run_id}'")
    if run_type:
        clauses.append(f"tags.run_type = '{run_type}'")
    runs = mlflow.search_runs(experiment_ids=[experiment_id], filter_string=" and ".join(clauses),
                              order_by=[f"metrics.{metric} DESC", "attributes.start_time ASC"],
                              max_results=1)
    return None if runs.empty else runs.iloc[0]


def mark_best_candidate(experiment_id: str, run_id: str) -> None:
    """Tag `run_id` best_candidate=true and clear the tag on any run that held it before, so
    that exactly one run answers the query that lab 4 makes."""
    from mlflow import MlflowClient

    client = MlflowClient()
    earlier = client.search_runs([experiment_id], filter_string=f"tags.{BEST_TAG} = 'true'")
    for run in earlier:
        if run.info.run_id != run_id:
            client.set_tag(run.info.run_id, BEST_TAG, "false")
    client.set_tag(run_id, BEST_TAG, "true")


def find_best_candidate(experiment_id: str):
    """The run that lab 3 chose (by tag, newest first), or None."""
    from mlflow import MlflowClient

    runs = MlflowClient().search_runs([experiment_id], filter_string=f"tags.{BEST_TAG} = 'true'",
                                      order_by=["attributes.start_time DESC"], max_results=1)
    return runs[0] if runs else None


def require_best_candidate(p, *, purpose: str = "training", lab: int = 3):
    """The run lab `lab` chose, or stop with "run lab N first" when there is none."""
    import mlflow

    from lakeprep.errors import MissingArtifactError

    name = experiment_name(purpose)
    experiment = mlflow.get_experiment_by_name(p.experiment_path(name))
    run = find_best_candidate(experiment.experiment_id) if experiment else None
    if run is None:
        raise MissingArtifactError(lab, f"{name} run tagged {BEST_TAG}=true", "run")
    return run
