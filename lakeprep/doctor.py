"""`lakeprep doctor`: is this machine ready to run the labs? One line per check, with the fix.

Fast on purpose (no Spark start): it reads versions from package metadata and runs `java -version`.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from lakeprep.errors import LakeprepError

SUPPORTED_JAVA = (17, 21)   # Spark 4 dropped 8 and 11
MIN_FREE_GB = 5.0


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""

    def line(self) -> str:
        mark = "ok  " if self.ok else "FAIL"
        text = f"[{mark}] {self.name}: {self.detail}"
        return text if self.ok else f"{text}\n       fix: {self.fix}"


def java_executable(environ=None) -> tuple[str | None, str]:
    """The java that Spark will launch, and where it came from."""
    environ = os.environ if environ is None else environ
    home = environ.get("JAVA_HOME")
    if home:
        candidate = Path(home) / "bin" / "java"
        return (str(candidate) if candidate.exists() else None), f"JAVA_HOME={home}"
    found = shutil.which("java", path=environ.get("PATH", ""))
    return found, "PATH"


def java_major(executable: str) -> int | None:
    try:
        out = subprocess.run([executable, "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    if not match:
        return None
    major = int(match.group(1))
    return int(match.group(2)) if major == 1 else major   # "1.8" means Java 8


def check_java(environ=None) -> Check:
    executable, source = java_executable(environ)
    wanted = " or ".join(str(v) for v in SUPPORTED_JAVA)
    install = (f"install a JDK {wanted} (Debian/Ubuntu: `sudo apt-get install openjdk-17-jdk-headless`; "
               "macOS: `brew install openjdk@17`) and set JAVA_HOME to it")
    if executable is None:
        where = "JAVA_HOME points at a folder without bin/java" if source != "PATH" else "no `java` on PATH"
        return Check("java", False, where, install)
    major = java_major(executable)
    if major not in SUPPORTED_JAVA:
        return Check("java", False, f"{executable} is Java {major or 'of unknown version'} (from {source}); "
                     f"Spark 4 needs Java {wanted}", install)
    hint = "" if source != "PATH" else " (JAVA_HOME unset; Spark will use this one)"
    return Check("java", True, f"Java {major} at {executable}{hint}")


def require_java(environ=None) -> None:
    """Raise the doctor's message when Spark cannot start for lack of a suitable Java."""
    check = check_java(environ)
    if not check.ok:
        raise LakeprepError(f"Java check failed: {check.detail}. Fix: {check.fix}. "
                            "Run `lakeprep doctor` for the full report.")


def check_python() -> Check:
    version = sys.version_info
    ok = (3, 10) <= version[:2] < (3, 14)
    return Check("python", ok, f"Python {version.major}.{version.minor}.{version.micro}",
                 "use Python 3.10–3.13 (the course is tested on 3.11): `make setup PYTHON=python3.11`")


def check_packages() -> Check:
    from lakeprep import jars
    try:
        artifacts = jars.installed_artifacts()
        problem = jars.compatibility_problem()
    except LakeprepError as exc:
        return Check("pyspark/delta", False, str(exc), "run `make setup`")
    if problem:
        return Check("pyspark/delta", False, problem, "reinstall the pins: `make setup`")
    return Check("pyspark/delta", True,
                 f"pyspark {artifacts.spark_version} with delta-spark {artifacts.delta_version}")


def check_jars(settings) -> Check:
    from lakeprep import jars
    try:
        cached = jars.cached_jars(settings)
        folder = jars.cache_folder(settings)
    except LakeprepError as exc:
        return Check("delta jars", False, str(exc), "run `make setup`")
    if not cached:
        return Check("delta jars", False, f"not cached in {folder}",
                     "run `make jars` (needs Maven Central once; see README: offline JAR fetch)")
    return Check("delta jars", True, f"{len(cached)} JARs cached in {folder}")


def check_workspace(settings) -> Check:
    from lakeprep.workspace import workspace_dir
    root = workspace_dir(settings)
    try:
        root.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=root):
            pass
    except OSError as exc:
        return Check("workspace", False, f"{root} is not writable ({exc.strerror})",
                     "set LAKEPREP_HOME to a folder you can write to")
    return Check("workspace", True, f"{root} is writable")


def check_disk(settings) -> Check:
    from lakeprep.workspace import workspace_dir
    root = workspace_dir(settings)
    probe = root if root.exists() else root.parent
    free_gb = shutil.disk_usage(probe).free / 1e9
    return Check("disk", free_gb >= MIN_FREE_GB, f"{free_gb:.1f} GB free at {probe}",
                 f"free at least {MIN_FREE_GB:.0f} GB or move the workspace with LAKEPREP_HOME")


def run_checks(environ=None) -> list[Check]:
    from lakeprep.config import load_settings
    settings = load_settings("local", environ=environ)
    return [check_python(), check_java(environ), check_packages(), check_jars(settings),
            check_workspace(settings), check_disk(settings)]


def add_commands(sub) -> None:
    parser = sub.add_parser("doctor", help="check Python, Java, Spark/Delta, JARs, workspace, disk")
    parser.set_defaults(func=_run)


def _run(args) -> int:
    checks = run_checks()
    for check in checks:
        print(check.line())
    failed = [c.name for c in checks if not c.ok]
    print(f"\n{len(checks) - len(failed)} of {len(checks)} checks passed"
          + (f"; fix: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0
