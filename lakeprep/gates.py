"""Promotion gates as code: the checks a model version must pass before `champion` may point at it.

    report = run_gates(name, version, eval_frame, label="churned", policy=GatePolicy(...))

runs five gates against one registered version and records the result where a release process can
find it: a gate run in the active experiment holds the report (JSON + Markdown) and the evaluation
runs, and the version gets the tag `gate_status` = passed | failed (plus `gate_failed`, the names of
the failing gates, and `gate_run_id`). `lakeprep promote` moves `champion` only to a version whose
`gate_status` is `passed`.

The gates:
- signature: the version has a signature, it accepts the columns the scoring data carries, and it is
  compatible with the champion's signature (`lakeprep.schema_compat`);
- smoke: the model loads and returns one finite probability per row, also for a row whose optional
  features are missing;
- metric: `mlflow.models.evaluate` on the same held-out rows for candidate and champion, then
  `mlflow.validate_evaluation_results` with a `MetricThreshold`: at least the absolute floor, and no
  more than `max_drop` below the champion (or `min_gain` above it, when set). With no champion yet,
  the floor alone decides;
- slice: every slice large enough to measure reaches the slice floor;
- latency: the median single-row predict of the loaded model stays under the budget.
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field

PASSED, FAILED = "passed", "failed"
GATE_STATUS_TAG = "gate_status"
GATE_ORDER = ("signature", "smoke", "metric", "slice", "latency")


@dataclass(frozen=True)
class GatePolicy:
    metric: str = "pr_auc"             # the primary metric, greater is better
    floor: float = 0.3                 # absolute minimum, always applied
    max_drop: float = 0.01             # how far below the champion a candidate may land
    min_gain: float | None = None      # if set, the candidate must beat the champion by this much
    slice_columns: tuple = ()
    slice_floor: float = 0.2
    slice_min_rows: int = 30
    slice_min_positives: int = 5
    latency_budget_ms: float = 50.0
    latency_samples: int = 40
    allow_widening: bool = False


@dataclass
class GateResult:
    name: str
    passed: bool
    detail: str
    values: dict = field(default_factory=dict)


@dataclass
class GateReport:
    model: str
    version: str
    champion_version: str | None
    policy: dict
    results: list[GateResult]
    checked_at: str = field(default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                  time.gmtime()))
    run_id: str | None = None

    @property
    def passed(self) -> bool:
        return bool(self.results) and all(r.passed for r in self.results)

    @property
    def status(self) -> str:
        return PASSED if self.passed else FAILED

    @property
    def failed(self) -> list[str]:
        return [r.name for r in self.results if not r.passed]

    def result(self, name: str) -> GateResult:
        return next(r for r in self.results if r.name == name)

    def to_dict(self) -> dict:
        data = asdict(self)
        data.update(status=self.status, failed=self.failed)
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True, default=str)

    def to_markdown(self) -> str:
        against = f"champion v{self.champion_version}" if self.champion_version else \
            "no champion yet (absolute floor)"
        lines = [f"# Gate report: {self.model} v{self.version}", "",
                 f"- status: **{self.status.upper()}**" + (
                     f" (failed: {', '.join(self.failed)})" if self.failed else ""),
                 f"- compared with: {against}", f"- checked at: {self.checked_at}", "",
                 "| gate | result | detail |", "|---|---|---|"]
        for r in self.results:
            detail = r.detail.replace("|", "\\|").replace("\n", "<br>")
            lines.append(f"| {r.name} | {'pass' if r.passed else '**FAIL**'} | {detail} |")
        return "\n".join(lines) + "\n"

    def __str__(self) -> str:
        head = f"{self.model} v{self.version}: {self.status.upper()}"
        return "\n".join([head] + [f"  {'✔' if r.passed else '✘'} {r.name}: {r.detail}"
                                   for r in self.results])


# -- helpers ---------------------------------------------------------------------------------------

def _pr_auc_metric():
    from mlflow.models import make_metric
    from sklearn.metrics import average_precision_score

    # Three arguments on purpose: a two-argument eval_fn not named (predictions, targets) is taken
    # for the legacy (eval_df, builtin_metrics) form. `probability` is read from the data.
    def pr_auc(predictions, targets, probability):
        return float(average_precision_score(targets, probability))

    return make_metric(eval_fn=pr_auc, greater_is_better=True, name="pr_auc")


def _roc_auc_metric():
    from mlflow.models import make_metric
    from sklearn.metrics import roc_auc_score

    def roc_auc(predictions, targets, probability):
        return float(roc_auc_score(targets, probability))

    return make_metric(eval_fn=roc_auc, greater_is_better=True, name="roc_auc")


def _predict(model, frame):
    """(probability, label) from a pyfunc. The label comes from the model's own decision threshold
    (`params={"output": "label"}`); a model without that param, or a wrapper that drops params,
    falls back to a 0.5 cut. Only the threshold-free metrics (PR-AUC, ROC-AUC) are gated."""
    import numpy as np

    probability = np.asarray(model.predict(frame), dtype="float64").reshape(-1)
    try:
        label = np.asarray(model.predict(frame, params={"output": "label"})).reshape(-1)
        if len(label) != len(probability) or not set(np.unique(label)) <= {0, 1}:
            raise ValueError("not a 0/1 label")
    except Exception:  # noqa: BLE001 - see the docstring
        label = (probability >= 0.5).astype(int)
    return probability, label.astype(int)


def input_columns(model) -> list[str]:
    schema = model.metadata.get_input_schema()
    return list(schema.input_names()) if schema is not None else []


_EVALUATIONS: dict = {}


class _quiet:
    """Keep evaluate's chatter out of notebooks and job logs: its INFO lines, the warnings from
    the one-row metric test it runs first, and the pyplot figure it leaves open."""

    def __enter__(self):
        import logging
        import warnings

        self._warnings = warnings.catch_warnings()
        self._warnings.__enter__()
        warnings.simplefilter("ignore")
        self._logger = logging.getLogger("mlflow.models.evaluation")
        self._level = self._logger.level
        self._logger.setLevel(logging.ERROR)
        return self

    def __exit__(self, *exc):
        self._logger.setLevel(self._level)
        self._warnings.__exit__(*exc)
        try:
            import matplotlib.pyplot as plt

            plt.close("all")
        except ImportError:  # pragma: no cover
            pass
        return False


def _fingerprint(frame) -> str:
    import hashlib

    import pandas as pd

    hashed = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    return hashlib.sha256(hashed.tobytes() + ",".join(map(str, frame.columns)).encode()).hexdigest()


def evaluate_version(uri: str, frame, label: str):
    """Evaluate a model on `frame` with `mlflow.models.evaluate` inside a nested run.

    The custom pyfunc returns probabilities, and the built-in classifier evaluator only computes
    AUCs for flavors that expose `predict_proba`. So the predictions go in as a static dataset
    (label + probability) and PR-AUC and ROC-AUC come in as `extra_metrics`."""
    import mlflow
    import pandas as pd

    # A registered version never changes: one evaluation per (version, rows) is enough, so a
    # champion compared with several candidates in one session is evaluated once.
    cache_key = (mlflow.get_registry_uri(), uri, label, _fingerprint(frame)) \
        if "@" not in uri else None
    if cache_key in _EVALUATIONS:
        return _EVALUATIONS[cache_key]
    model = mlflow.pyfunc.load_model(uri)
    columns = input_columns(model) or [c for c in frame.columns if c != label]
    probability, predicted = _predict(model, frame[columns])
    data = pd.DataFrame({"target": frame[label].astype(int).to_numpy(), "prediction": predicted,
                         "probability": probability})
    with mlflow.start_run(run_name=f"evaluate {uri}", nested=True,
                          tags={"run_type": "evaluation", "evaluated_model": uri}), _quiet():
        result = mlflow.models.evaluate(
            data=data, targets="target", predictions="prediction", model_type="classifier",
            extra_metrics=[_pr_auc_metric(), _roc_auc_metric()],
            evaluator_config={"pos_label": 1, "label_list": [0, 1],
                              "log_model_explainability": False})
    if cache_key is not None:
        _EVALUATIONS[cache_key] = (result, probability)
    return result, probability


# -- the gates -----------------------------------------------------------------------------------

def signature_gate(candidate_sig, champion_sig, frame_columns, policy: GatePolicy) -> GateResult:
    from lakeprep.schema_compat import compare_signatures

    if candidate_sig is None or candidate_sig.inputs is None:
        return GateResult("signature", False, "no signature: Unity Catalog refuses such versions "
                                              "and serving cannot validate payloads")
    required = [c.name for c in candidate_sig.inputs.inputs if getattr(c, "required", True)]
    unserved = [c for c in required if c not in set(frame_columns)]
    report = compare_signatures(champion_sig, candidate_sig, allow_widening=policy.allow_widening)
    problems = []
    if unserved:
        problems.append(f"requires column(s) the scoring data does not carry: {unserved}")
    problems += [str(c) for c in report.breaking]
    values = {"changes": [str(c) for c in report.changes], "unserved_columns": unserved}
    if problems:
        return GateResult("signature", False, "; ".join(problems), values)
    base = "compatible with the champion" if champion_sig is not None else \
        "present (no champion to compare with)"
    notes = [str(c) for c in report.changes]
    return GateResult("signature", True, base + (f" ({'; '.join(notes)})" if notes else ""), values)


def smoke_gate(model, frame) -> GateResult:
    """Loads, answers 5 rows with finite probabilities, and copes with what production sends
    sooner or later: optional features left empty and category levels it never saw."""
    import numpy as np

    from lakeprep.models import is_finite_probability

    schema = model.metadata.get_input_schema()
    columns = input_columns(model) or list(frame.columns)
    rows = frame[columns].head(5)
    out = np.asarray(model.predict(rows), dtype="float64").reshape(-1)
    if len(out) != len(rows) or not is_finite_probability(out):
        return GateResult("smoke", False, f"5 rows in, got {out!r}")
    specs = schema.inputs if schema is not None else []
    optional = [c.name for c in specs if not getattr(c, "required", True)]
    text = [c.name for c in specs if str(getattr(c, "type", "")).endswith("string")]
    odd = rows.head(1).copy()
    for column in optional:
        odd[column] = None if odd[column].dtype == object else np.nan
    for column in text:
        odd[column] = "__never_seen__"
    answer = np.asarray(model.predict(odd), dtype="float64").reshape(-1)
    if not is_finite_probability(answer):
        return GateResult("smoke", False, f"a row with empty optional features and unseen "
                                          f"categories gave {answer!r}")
    return GateResult("smoke", True, f"5 rows → probabilities in [0, 1]; a row with "
                                     f"{len(optional)} optional feature(s) empty and {len(text)} "
                                     f"unseen categories → {answer[0]:.3f}",
                      {"optional_columns": optional, "categorical_columns": text})


def metric_gate(candidate_result, champion_result, policy: GatePolicy) -> GateResult:
    import mlflow
    from mlflow.models import MetricThreshold
    from mlflow.models.evaluation.validation import ModelValidationFailedException

    name = policy.metric
    value = float(candidate_result.metrics.get(name, math.nan))
    baseline = float(champion_result.metrics[name]) if champion_result is not None else None
    threshold = policy.floor if baseline is None else max(policy.floor, baseline - policy.max_drop)
    gain = policy.min_gain if (baseline is not None and policy.min_gain) else None
    rule = (f"{name} ≥ {threshold:.4f}" + (f" and ≥ champion + {gain}" if gain else "")
            + (" (floor)" if baseline is None else
               f" (champion {baseline:.4f} − {policy.max_drop}, floor {policy.floor})"))
    values = {"candidate": value, "champion": baseline, "threshold": threshold,
              "min_gain": gain, "metrics": {k: float(v) for k, v in candidate_result.metrics.items()
                                            if isinstance(v, (int, float))}}
    try:
        with _quiet():
            mlflow.validate_evaluation_results(
                {name: MetricThreshold(threshold=threshold, min_absolute_change=gain,
                                       greater_is_better=True)},
                candidate_result, champion_result)
    except ModelValidationFailedException as exc:
        return GateResult("metric", False, f"{name} {value:.4f} fails {rule}: {exc.message}", values)
    return GateResult("metric", True, f"{name} {value:.4f} meets {rule}", values)


def slice_gate(frame, probability, label: str, policy: GatePolicy) -> GateResult:
    from lakeprep.tracking import slice_report

    scored = frame[list(policy.slice_columns) + [label]].copy()
    scored["_score"] = probability
    report = slice_report(scored, label=label, score="_score", by=policy.slice_columns,
                          threshold=0.5, min_rows=policy.slice_min_rows,
                          min_positives=policy.slice_min_positives)
    measured = report[report["measured"]]
    below = measured[measured["pr_auc"] < policy.slice_floor]
    values = {"slices": report.drop(columns=["recall"]).to_dict(orient="records")}
    if measured.empty:
        return GateResult("slice", False, "no slice large enough to measure", values)
    if len(below):
        worst = ", ".join(f"{r.column}={r.value} {r.pr_auc:.3f}" for r in below.itertuples())
        return GateResult("slice", False, f"below the slice floor {policy.slice_floor}: {worst}",
                          values)
    low = measured.sort_values("pr_auc").iloc[0]
    return GateResult("slice", True, f"{len(measured)} slices ≥ {policy.slice_floor} "
                                     f"(lowest {low['column']}={low['value']} {low['pr_auc']:.3f})",
                      values)


def latency_gate(model, frame, policy: GatePolicy) -> GateResult:
    import numpy as np

    columns = input_columns(model) or list(frame.columns)
    rows = [frame[columns].iloc[[i % len(frame)]] for i in range(policy.latency_samples)]
    for row in rows[:3]:  # warm-up: first calls pay for lazy imports and caches
        model.predict(row)
    timings = []
    for row in rows:
        started = time.perf_counter()
        model.predict(row)
        timings.append((time.perf_counter() - started) * 1000)
    median, p95 = float(np.median(timings)), float(np.percentile(timings, 95))
    values = {"median_ms": median, "p95_ms": p95, "samples": len(timings),
              "budget_ms": policy.latency_budget_ms}
    ok = median <= policy.latency_budget_ms
    return GateResult("latency", ok, f"median single-row predict {median:.1f} ms "
                                     f"({'within' if ok else 'over'} {policy.latency_budget_ms} ms; "
                                     f"p95 {p95:.1f} ms)", values)


def _guarded(name, fn, *args) -> GateResult:
    try:
        return fn(*args)
    except Exception as exc:  # noqa: BLE001 - a gate that crashes is a failed gate, with the reason
        return GateResult(name, False, f"error: {type(exc).__name__}: {str(exc).splitlines()[0][:300]}")


# -- running and recording ------------------------------------------------------------------------

def champion_version(name: str, alias: str = "champion", client=None) -> str | None:
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    client = client or MlflowClient()
    try:
        return str(client.get_model_version_by_alias(name, alias).version)
    except MlflowException:
        return None


def run_gates(name: str, version, eval_frame, *, label: str, policy: GatePolicy,
              champion_alias: str = "champion", record: bool = True, run_tags: dict | None = None,
              client=None) -> GateReport:
    """Run every gate for `name` version `version` on `eval_frame` (feature columns + label +
    slice columns) and, with `record=True`, log the report and tag the version."""
    import mlflow
    from mlflow import MlflowClient
    from mlflow.models import get_model_info

    client = client or MlflowClient()
    version = str(client.get_model_version(name, str(version)).version)
    champion = champion_version(name, champion_alias, client)
    if champion == version:
        champion = None  # re-gating the champion itself: compare with the floor only
    uri = f"models:/{name}/{version}"
    tags = {"run_type": "gate", "gated_model": name, "gated_version": version,
            **(run_tags or {})}
    with mlflow.start_run(run_name=f"gates v{version}", tags=tags, nested=mlflow.active_run()
                          is not None) as run:
        results = []
        candidate_sig = _guarded("signature", lambda: get_model_info(uri).signature)
        champion_sig = get_model_info(f"models:/{name}/{champion}").signature if champion else None
        if isinstance(candidate_sig, GateResult):
            results.append(candidate_sig)
        else:
            results.append(_guarded("signature", signature_gate, candidate_sig, champion_sig,
                                    list(eval_frame.columns), policy))
        unserved = results[0].values.get("unserved_columns") if results[0].values else None
        model = None if unserved else _guarded("smoke", mlflow.pyfunc.load_model, uri)
        if unserved:
            # The scoring data cannot even be fed to this version: nothing else is worth running.
            results += [GateResult(g, False, "skipped: the scoring data lacks column(s) "
                                             f"{unserved} that the signature requires")
                        for g in ("smoke", "metric", "slice", "latency")]
        elif isinstance(model, GateResult):
            results += [model] + [GateResult(g, False, "model did not load")
                                  for g in ("metric", "slice", "latency")]
        else:
            results.append(_guarded("smoke", smoke_gate, model, eval_frame))
            evaluated = _guarded("metric", evaluate_version, uri, eval_frame, label)
            if isinstance(evaluated, GateResult):
                results += [evaluated, GateResult("slice", False, "no predictions")]
            else:
                candidate_result, probability = evaluated
                champion_result = None
                if champion:
                    champion_eval = _guarded(
                        "metric", evaluate_version, f"models:/{name}/{champion}", eval_frame,
                        label)
                    champion_result = None if isinstance(champion_eval, GateResult) \
                        else champion_eval[0]
                metric = _guarded("metric", metric_gate, candidate_result, champion_result, policy)
                if champion and champion_result is None:
                    metric.detail += f" (champion v{champion} could not be evaluated: " \
                                     f"{champion_eval.detail}; compared with the floor only)"
                results.append(metric)
                results.append(_guarded("slice", slice_gate, eval_frame, probability, label,
                                        policy))
            results.append(_guarded("latency", latency_gate, model, eval_frame, policy))
        report = GateReport(name, version, champion, asdict(policy), results, run_id=run.info.run_id)
        if record:
            mlflow.log_dict(report.to_dict(), f"gates/gate_report_v{version}.json")
            mlflow.log_text(report.to_markdown(), f"gates/gate_report_v{version}.md")
            mlflow.log_metrics({f"gate.{r.name}": float(r.passed) for r in results}
                               | {"gate.passed": float(report.passed)})
    if record:
        record_status(name, version, report, client)
    return report


def record_status(name: str, version: str, report: GateReport, client=None) -> None:
    """Summarise the report on the model version: the tags a promotion reads."""
    from mlflow import MlflowClient

    client = client or MlflowClient()
    tags = {GATE_STATUS_TAG: report.status, "gate_failed": ",".join(report.failed) or "none",
            "gate_run_id": report.run_id or "", "gate_checked_at": report.checked_at,
            "gate_compared_with": f"v{report.champion_version}" if report.champion_version
            else "floor"}
    for key, value in tags.items():
        client.set_model_version_tag(name, str(version), key, value)


def load_report(name: str, version, client=None) -> dict:
    """The gate report of a version, from the run named in its `gate_run_id` tag."""
    import mlflow
    from mlflow import MlflowClient

    client = client or MlflowClient()
    from lakeprep.provenance import _quiet_downloads

    _quiet_downloads()
    mv = client.get_model_version(name, str(version))
    run_id = mv.tags.get("gate_run_id")
    if not run_id:
        raise LookupError(f"{name} v{version} has no gate report (no gate_run_id tag)")
    return mlflow.artifacts.load_dict(f"runs:/{run_id}/gates/gate_report_v{mv.version}.json")
