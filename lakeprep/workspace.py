"""The local workspace: one folder that holds all lab state (Delta tables, metastore, MLflow store
and artifacts, stream checkpoints, raw files, endpoint logs). `lakeprep reset` clears it."""
from __future__ import annotations

import shutil
from pathlib import Path

from lakeprep.config import REPO_ROOT, load_settings
from lakeprep.errors import LakeprepError

# Sub-folders, so that every lab and tool agrees on where things go.
LAYOUT = {
    "warehouse": "spark-warehouse",   # managed Delta tables
    "metastore": "metastore",         # the Derby metastore that names them across sessions
    "mlflow": "mlflow",               # SQLite tracking/registry store and artifacts
    "files": "files",                 # raw landing files (a UC volume on Databricks)
    "checkpoints": "checkpoints",     # Structured Streaming checkpoints
    "endpoints": "endpoints",         # serving logs and pid files
    "tmp": "tmp",
}


def workspace_dir(settings=None) -> Path:
    settings = settings or load_settings("local")
    return settings.path("workspace")


def ensure(settings=None) -> Path:
    root = workspace_dir(settings)
    for sub in LAYOUT.values():
        (root / sub).mkdir(parents=True, exist_ok=True)
    return root


def reset(path: str | Path | None = None, settings=None) -> Path:
    """Delete the workspace. Refuses anything but the configured workspace folder itself."""
    configured = workspace_dir(settings)
    target = Path(path).expanduser().resolve() if path else configured
    if target != configured:
        raise LakeprepError(
            f"refusing to delete {target}: it is not the configured workspace ({configured}). "
            "Point LAKEPREP_HOME at the folder you mean, or run `lakeprep reset` without a path.")
    dangerous = {Path("/").resolve(), Path.home().resolve(), REPO_ROOT}
    if target in dangerous or target in REPO_ROOT.parents:
        raise LakeprepError(
            f"refusing to delete {target}: LAKEPREP_HOME must name a folder of its own, "
            "not the file system root, your home folder or the repository")
    if target.exists():
        shutil.rmtree(target)
    return target


def add_commands(sub) -> None:
    parser = sub.add_parser("reset", help="delete all lab state in the local workspace")
    parser.add_argument("path", nargs="?", help="the workspace to clear (default: the configured one)")
    parser.set_defaults(func=_run)


def _run(args) -> int:
    cleared = reset(args.path)
    print(f"Cleared the workspace {cleared}")
    return 0
