"""What a training run read and ran with, written down so that the run can be rebuilt later.

A provenance record holds the Delta version of every input and feature table (from DESCRIBE
HISTORY), the feature table names, the git commit of the code, library versions and the seed. It is
logged as a JSON artifact of the run; `read_as_of` then reads each table back at the recorded version
(Delta time travel), which is how a run is reproduced after the tables have moved on.
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import time
from importlib import metadata
from pathlib import Path

from lakeprep.commits import last_commit

ARTIFACT = "provenance/provenance.json"
LIBRARIES = ("pyspark", "delta-spark", "mlflow", "xgboost", "xgboost-cpu", "scikit-learn",
             "optuna", "pandas", "numpy", "pyarrow")
REPO_ROOT = Path(__file__).resolve().parent.parent


def table_version(p, name: str) -> dict:
    """The newest commit of the Delta table `name` (bare name): version, time and operation."""
    row = last_commit(p, name)
    return {"table": p.full_name(name), "version": int(row["version"]),
            "timestamp": row["timestamp"].strftime("%Y-%m-%dT%H:%M:%SZ"),
            "operation": row["operation"]}


def git_commit(repo: Path = REPO_ROOT) -> dict:
    """The commit the code ran from and whether the tree had uncommitted changes.

    Outside a git checkout (a wheel on a cluster, a copied folder) the commit is "unknown": record
    that honestly rather than inventing a version.
    """
    def git(*args):
        return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True,
                              timeout=10, check=True).stdout.strip()

    try:
        sha = git("rev-parse", "HEAD")
    except (OSError, subprocess.SubprocessError):
        return {"sha": "unknown", "dirty": None}
    try:
        dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.SubprocessError):
        dirty = None
    return {"sha": sha, "dirty": dirty}


def code_version(repo: Path = REPO_ROOT) -> str:
    """A short code version for tags: the commit, with `-dirty` when files were changed."""
    commit = git_commit(repo)
    if commit["sha"] == "unknown":
        return "unknown"
    return commit["sha"][:12] + ("-dirty" if commit["dirty"] else "")


def library_versions(packages=LIBRARIES) -> dict:
    out = {}
    for package in packages:
        try:
            out[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return out


def data_id(tables: dict) -> str:
    """A short, stable id for one combination of table versions: equal ids, equal inputs."""
    canonical = json.dumps({t["table"]: t["version"] for t in tables.values()}, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()[:12]


def collect(p, *, inputs, feature_tables=(), seed: int, extra: dict | None = None) -> dict:
    """The provenance record for a run that reads `inputs` and `feature_tables` (bare names)."""
    names = list(dict.fromkeys([*inputs, *feature_tables]))
    tables = {name: table_version(p, name) for name in names}
    record = {
        "tables": tables,
        "inputs": list(inputs),
        "feature_tables": [p.full_name(n) for n in feature_tables],
        "data_id": data_id(tables),
        "code": git_commit(),
        "libraries": library_versions(),
        "python": _python_version(),
        "target": p.target,
        "seed": int(seed),
        "collected_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    if extra:
        record.update(extra)
    return record


def _python_version() -> str:
    import platform

    return platform.python_version()


def write_snapshot(p, name: str, df) -> None:
    """Overwrite the Delta table `name` with `df` as a new version; earlier versions stay
    readable by time travel. With unchanged columns this is an INSERT OVERWRITE, which leaves the
    metastore entry alone; otherwise the table is replaced with the new schema."""
    table = p.table(name)
    if p.table_exists(name):
        current = p.spark.table(table).schema
        if [(f.name, f.dataType) for f in current] == [(f.name, f.dataType) for f in df.schema]:
            df.write.insertInto(table, overwrite=True)
            return
    df.write.format("delta").mode("overwrite").option("overwriteSchema", "true").saveAsTable(table)


def _quiet_downloads() -> None:
    # A progress bar per small JSON download is noise in a notebook or a job log.
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")


def log(record: dict, artifact_file: str = ARTIFACT) -> None:
    """Log the record as a JSON artifact of the active run."""
    import mlflow

    mlflow.log_dict(record, artifact_file)


def load(run_id: str, artifact_file: str = ARTIFACT) -> dict:
    """The provenance record that run `run_id` logged."""
    import mlflow

    _quiet_downloads()
    return mlflow.artifacts.load_dict(f"runs:/{run_id}/{artifact_file}")


def read_as_of(p, name: str, record: dict):
    """Table `name` exactly as the run read it: a Delta time-travel read at the recorded version."""
    version = record["tables"][name]["version"]
    return p.spark.read.option("versionAsOf", version).table(p.table(name))


def drift_since(p, record: dict) -> dict:
    """{table: (recorded version, current version)} for every table that has moved on since."""
    moved = {}
    for name, entry in record["tables"].items():
        now = table_version(p, name)["version"]
        if now != entry["version"]:
            moved[name] = (entry["version"], now)
    return moved
