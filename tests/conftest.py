"""Shared fixtures. Tests are split by what they protect (code, content, data, model, e2e).

Two workspaces keep Spark sessions apart: a Derby metastore admits one JVM at a time, so the
in-process Spark tests and the notebook kernels that the e2e tests start must not share one.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
BUILD = REPO / "build"
IN_PROCESS_HOME = BUILD / "test-workspace"
LABS_HOME = BUILD / "test-labs-workspace"

# Set before any test module creates a platform: Spark's static settings (warehouse, metastore)
# are fixed by the first session in the process.
os.environ.setdefault("LAKEPREP_HOME", str(IN_PROCESS_HOME))


def run_cli(*args: str, env: dict | None = None, input: str | None = None,
            timeout: float = 600) -> subprocess.CompletedProcess:
    """Run `python -m lakeprep ARGS` the way a learner would, and capture its output."""
    return subprocess.run([sys.executable, "-m", "lakeprep", *args], capture_output=True,
                          text=True, env=env if env is not None else dict(os.environ),
                          input=input, timeout=timeout, cwd=REPO)


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def platform():
    """One local platform (and Spark session) for every in-process Spark test."""
    if Path(os.environ["LAKEPREP_HOME"]).resolve() == IN_PROCESS_HOME.resolve():
        shutil.rmtree(IN_PROCESS_HOME, ignore_errors=True)
    from lakeprep.platform import get_platform
    p = get_platform("local")
    p.spark  # noqa: B018 - start it once here
    yield p
    p.spark.stop()


# -- timing summary ------------------------------------------------------------------------------
_durations: dict[str, float] = defaultdict(float)


def pytest_runtest_logreport(report):
    if report.when == "call" or report.when == "setup":
        parts = Path(report.nodeid.split("::")[0]).parts
        _durations[parts[1] if len(parts) > 2 else parts[0]] += report.duration


def pytest_terminal_summary(terminalreporter):
    if not _durations:
        return
    terminalreporter.section("timing by test group")
    for group, seconds in sorted(_durations.items(), key=lambda kv: -kv[1]):
        terminalreporter.write_line(f"{group:<12} {seconds:8.1f} s")
    summary = BUILD / "labs" / "run-summary.json"
    if summary.exists():
        import json
        data = json.loads(summary.read_text())
        terminalreporter.write_line("lab run (build/labs/run-summary.json):")
        for nb in data["notebooks"]:
            terminalreporter.write_line(f"  {nb['notebook']:<18} {nb['status']:<8} {nb['seconds']:7.1f} s")
