"""A release-evidence report assembled from artifacts, never typed by hand.

    report = ReleaseEvidence("lakeprep.course.upgrade_model", version="3")
    report.add("Model contract", contract)                       # a dict: a definition list
    report.add("Data versions", table_versions(spark, tables))   # a DataFrame: a table
    report.add("Gate results", gate_report, passed=True)         # a section with a verdict
    path = report.write(folder)                                  # release-evidence.md
    report.log()                                                 # the same file, as an artifact

Each section holds facts collected from the tables, the registry and the runs, plus an optional
pass/fail verdict; the report's overall verdict is the conjunction of the verdicts it holds.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Section:
    title: str
    content: object
    passed: bool | None = None
    note: str = ""


@dataclass
class ReleaseEvidence:
    model_name: str
    version: str
    title: str = "Release evidence"
    sections: list = field(default_factory=list)
    created: str = field(default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))

    def add(self, title: str, content, passed: bool | None = None, note: str = "") -> "ReleaseEvidence":
        self.sections.append(Section(title, content, passed, note))
        return self

    @property
    def verdicts(self) -> dict:
        return {s.title: s.passed for s in self.sections if s.passed is not None}

    @property
    def passed(self) -> bool:
        return bool(self.verdicts) and all(self.verdicts.values())

    def missing(self, required) -> list[str]:
        have = {s.title for s in self.sections}
        return [r for r in required if r not in have]

    # -- rendering -----------------------------------------------------------------------------
    def markdown(self) -> str:
        lines = [f"# {self.title}: {self.model_name} version {self.version}", "",
                 f"Assembled {self.created} from the registry, the runs and the Delta tables.", "",
                 "| check | verdict |", "|---|---|"]
        for name, ok in self.verdicts.items():
            lines.append(f"| {name} | {'pass' if ok else 'FAIL'} |")
        lines += ["", f"**Overall: {'ready to release' if self.passed else 'NOT ready to release'}**", ""]
        for s in self.sections:
            verdict = "" if s.passed is None else (" (pass)" if s.passed else " (FAIL)")
            lines += [f"## {s.title}{verdict}", ""]
            if s.note:
                lines += [s.note, ""]
            lines += [_render(s.content), ""]
        return "\n".join(lines).rstrip() + "\n"

    def as_dict(self) -> dict:
        return {"model_name": self.model_name, "version": self.version, "created": self.created,
                "passed": self.passed, "verdicts": self.verdicts,
                "sections": [{"title": s.title, "passed": s.passed, "note": s.note,
                              "content": _jsonable(s.content)} for s in self.sections]}

    def write(self, folder: str | Path, name: str = "release-evidence") -> Path:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{name}.md"
        path.write_text(self.markdown())
        (folder / f"{name}.json").write_text(json.dumps(self.as_dict(), indent=2, default=str))
        return path

    def log(self, path: str | Path | None = None, run_id: str | None = None,
            artifact_path: str = "release") -> None:
        """Log the written report (and its JSON twin) to an MLflow run."""
        import mlflow

        path = Path(path) if path else None
        client = mlflow.MlflowClient()
        target = run_id or mlflow.active_run().info.run_id
        if path is None:
            raise ValueError("write the report first and pass its path")
        client.log_artifact(target, str(path), artifact_path)
        twin = path.with_suffix(".json")
        if twin.exists():
            client.log_artifact(target, str(twin), artifact_path)
        client.set_tag(target, "release_evidence_passed", str(self.passed).lower())


def _jsonable(content):
    if hasattr(content, "to_dict"):
        try:
            return json.loads(content.reset_index().to_json(orient="records", date_format="iso"))
        except Exception:  # noqa: BLE001 - fall back to text for anything exotic
            return str(content)
    return json.loads(json.dumps(content, default=str))


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    text = json.dumps(value, default=str) if isinstance(value, (dict, list)) else str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def _render(content) -> str:
    if content is None:
        return "_(nothing recorded)_"
    if hasattr(content, "to_dict") and hasattr(content, "columns"):  # a pandas DataFrame
        frame = content.reset_index() if content.index.name or getattr(content.index, "names", [None])[0] else content
        header = "| " + " | ".join(str(c) for c in frame.columns) + " |"
        rule = "|" + "---|" * len(frame.columns)
        body = ["| " + " | ".join(_cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
        return "\n".join([header, rule, *body])
    if isinstance(content, dict):
        return "\n".join(f"- **{k}**: {_cell(v)}" for k, v in content.items())
    if isinstance(content, (list, tuple)):
        return "\n".join(f"- {_cell(v)}" for v in content)
    return str(content)


def table_versions(spark, tables) -> "object":
    """The current Delta version, last operation and time of each table: the data versions a
    release was built from."""
    import pandas as pd

    rows = []
    for table in tables:
        last = spark.sql(f"DESCRIBE HISTORY {table} LIMIT 1").collect()[0]
        rows.append({"table": table, "version": int(last["version"]),
                     "operation": last["operation"], "timestamp": str(last["timestamp"])})
    return pd.DataFrame(rows)


def version_tags(model_name: str, version: str, prefix: str = "") -> dict:
    """The tags of a model version (optionally only those starting with `prefix`)."""
    from mlflow import MlflowClient

    tags = MlflowClient().get_model_version(model_name, version).tags or {}
    return {k: v for k, v in sorted(tags.items()) if k.startswith(prefix)}
