"""The release-evidence report that closes a canary: verdicts, rendering, files and the MLflow
artifact it is logged as."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd

from lakeprep import release

sys.path.insert(0, str(Path(__file__).resolve().parent))  # pytest runs with --import-mode=importlib
from test_serving_support import using_registry  # noqa: E402


def _report():
    report = release.ReleaseEvidence("cat.sch.upgrade_model", "3")
    report.add("Model contract", {"label": "upgraded_14d", "guard_rails": {"p95_ms": 150}})
    report.add("Endpoint figures", pd.DataFrame([{"label": "1 row", "p95_ms": 42.123456, "errors": 0}]),
               passed=True, note="single rows on 127.0.0.1")
    report.add("Canary decision", {"action": "rollback", "reasons": ["score PSI 0.4 | too high"]}, passed=True)
    report.add("Drift status", {"alert": True, "alerting": ["sessions_7d"]})
    return report


def test_verdict_is_the_conjunction_of_the_sections_that_have_one():
    report = _report()
    assert report.passed and set(report.verdicts) == {"Endpoint figures", "Canary decision"}
    report.add("Top-5% guard rail", {"met": False}, passed=False)
    assert not report.passed
    assert release.ReleaseEvidence("m", "1").passed is False  # no verdict at all proves nothing
    assert report.missing(["Model contract", "Gate results"]) == ["Gate results"]


def test_markdown_renders_tables_dicts_and_escapes_pipes():
    text = _report().markdown()
    assert text.startswith("# Release evidence: cat.sch.upgrade_model version 3")
    assert "| Endpoint figures | pass |" in text and "**Overall: ready to release**" in text
    assert "| label | p95_ms | errors |" in text and "| 1 row | 42.12 | 0 |" in text
    assert "\\|" in text  # the pipe inside a reason does not break the table
    assert "- **label**: upgraded_14d" in text


def test_write_and_log(tmp_path):
    import mlflow

    report = _report()
    path = report.write(tmp_path / "out")
    twin = json.loads(path.with_suffix(".json").read_text())
    assert path.read_text() == report.markdown()
    assert twin["passed"] is True and len(twin["sections"]) == 4
    assert twin["sections"][1]["content"][0]["p95_ms"] == 42.123456
    home = tmp_path / "home"
    (home / "mlflow").mkdir(parents=True)
    with using_registry(home):
        experiment = mlflow.create_experiment("release", artifact_location=(home / "art").as_uri())
        with mlflow.start_run(experiment_id=experiment) as run:
            report.log(path)
        client = mlflow.MlflowClient()
        names = sorted(a.path for a in client.list_artifacts(run.info.run_id, "release"))
        assert names == ["release/release-evidence.json", "release/release-evidence.md"]
        assert client.get_run(run.info.run_id).data.tags["release_evidence_passed"] == "true"
