"""The Delta Lake JARs: which ones match the installed pyspark/delta-spark, and a one-time fetch.

The delta-spark wheel ships no JARs. We resolve `io.delta:delta-spark_<spark major.minor>_2.13`
(which brings `io.delta:delta-storage` and the rest of its runtime dependencies) with Spark's own
Ivy, once, into a versioned cache folder. Every Spark session after that lists the cached JARs in
`spark.jars` and never touches the network.

Only importlib.metadata is used to read versions, so `lakeprep doctor` stays fast.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from lakeprep.errors import LakeprepError

SCALA = "2.13"


@dataclass(frozen=True)
class DeltaArtifacts:
    spark_version: str
    delta_version: str

    @property
    def spark_minor(self) -> str:
        return ".".join(self.spark_version.split(".")[:2])

    @property
    def coordinate(self) -> str:
        return f"io.delta:delta-spark_{self.spark_minor}_{SCALA}:{self.delta_version}"

    @property
    def storage_coordinate(self) -> str:
        return f"io.delta:delta-storage:{self.delta_version}"

    @property
    def folder_name(self) -> str:
        return f"delta-{self.delta_version}_spark-{self.spark_minor}"


def installed_artifacts() -> DeltaArtifacts:
    try:
        return DeltaArtifacts(metadata.version("pyspark"), metadata.version("delta-spark"))
    except metadata.PackageNotFoundError as exc:
        raise LakeprepError(
            f"the Python package {exc.name!r} is not installed; run `make setup` "
            "(or `pip install -r requirements.txt` inside .venv)") from None


def compatibility_problem() -> str | None:
    """Why the installed pyspark cannot run the installed delta-spark, or None when they match.

    delta-spark declares the pyspark range it supports; we read that range instead of keeping a
    hand-made table that goes stale with every release.
    """
    from packaging.requirements import Requirement
    from packaging.version import Version

    artifacts = installed_artifacts()
    for line in metadata.requires("delta-spark") or []:
        req = Requirement(line)
        if req.name == "pyspark" and Version(artifacts.spark_version) not in req.specifier:
            return (f"delta-spark {artifacts.delta_version} needs pyspark{req.specifier}, "
                    f"but pyspark {artifacts.spark_version} is installed")
    return None


def cache_root(settings=None) -> Path:
    if settings is None:
        from lakeprep.config import load_settings
        settings = load_settings("local")
    return settings.path("jar_cache")


def cache_folder(settings=None) -> Path:
    return cache_root(settings) / installed_artifacts().folder_name


def cached_jars(settings=None) -> list[Path] | None:
    """The cached JAR paths, or None when the cache is missing or incomplete."""
    folder = cache_folder(settings)
    manifest = folder / "manifest.json"
    if not manifest.exists():
        return None
    jars = [folder / "jars" / name for name in json.loads(manifest.read_text())["jars"]]
    return jars if jars and all(j.exists() for j in jars) else None


def _ivy_settings(path: Path, cache: Path, repo: str) -> None:
    # Only Maven Central (or the configured mirror): Spark's default settings also consult
    # ~/.m2, where a half-filled local repository (a POM without its JAR) fails the resolution.
    root = f' root="{repo}"' if repo else ""
    path.write_text(
        "<ivysettings>\n"
        '  <settings defaultResolver="central"/>\n'
        f'  <caches defaultCacheDir="{cache}"/>\n'
        f'  <resolvers><ibiblio name="central" m2compatible="true"{root}/></resolvers>\n'
        "</ivysettings>\n")


def spark_submit() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("pyspark")
    if spec is None:
        raise LakeprepError("pyspark is not installed; run `make setup`")
    return Path(list(spec.submodule_search_locations)[0]) / "bin" / "spark-submit"


def fetch(settings=None, force: bool = False, quiet: bool = False) -> list[Path]:
    """Resolve the Delta JARs into the cache once; later calls return the cached list."""
    from lakeprep.config import load_settings

    settings = settings or load_settings("local")
    artifacts = installed_artifacts()
    if not force and (jars := cached_jars(settings)):
        if not quiet:
            print(f"Delta JARs already cached: {len(jars)} files in {jars[0].parent}")
        return jars
    problem = compatibility_problem()
    if problem:
        raise LakeprepError(problem + "; pin a compatible pair in requirements.txt")
    folder = cache_folder(settings)
    staging = folder.with_name(folder.name + ".partial")
    if staging.exists():
        import shutil
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    settings_file = staging / "ivysettings.xml"
    _ivy_settings(settings_file, staging / "ivy-cache", settings.get("maven_repo") or "")
    noop = staging / "noop.py"
    noop.write_text("# resolving packages is all this run does\n")
    command = [str(spark_submit()), "--master", "local[1]",
               "--conf", f"spark.jars.ivy={staging}",
               "--conf", f"spark.jars.ivySettings={settings_file}",
               "--conf", "spark.ui.enabled=false",
               "--packages", artifacts.coordinate, str(noop)]
    if not quiet:
        print(f"Fetching {artifacts.coordinate} and its dependencies from "
              f"{settings.get('maven_repo') or 'Maven Central'} (once) ...", flush=True)
    started = time.monotonic()
    env = dict(os.environ, PYSPARK_PYTHON=sys.executable)
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    jar_dir = staging / "jars"
    names = sorted(p.name for p in jar_dir.glob("*.jar")) if jar_dir.exists() else []
    if result.returncode != 0 or not names:
        log = staging / "fetch.log"
        log.write_text(result.stdout + result.stderr)
        raise LakeprepError(
            f"could not download {artifacts.coordinate} (with {artifacts.storage_coordinate} and "
            f"their dependencies) from {settings.get('maven_repo') or 'Maven Central'}.\n"
            f"  Details: {log}\n"
            "  Fix: connect to the internet and run `make jars` again; or set LAKEPREP_MAVEN_REPO "
            "to a Maven mirror you can reach; or seed the cache offline by copying the folder "
            f"{folder} (manifest.json + jars/) from a machine that has fetched it.")
    (staging / "manifest.json").write_text(json.dumps({
        "coordinate": artifacts.coordinate, "spark": artifacts.spark_version,
        "delta": artifacts.delta_version, "jars": names}, indent=2))
    for leftover in ("noop.py", "ivysettings.xml"):
        (staging / leftover).unlink()
    if folder.exists():
        import shutil
        shutil.rmtree(folder)
    staging.rename(folder)  # the manifest appears only once every JAR is in place
    if not quiet:
        print(f"Cached {len(names)} JARs in {folder / 'jars'} ({time.monotonic() - started:.0f} s)")
    return [folder / "jars" / n for n in names]


def add_commands(sub) -> None:
    parser = sub.add_parser("jars", help="fetch the Delta Lake JARs once into the local cache")
    parser.add_argument("action", choices=["fetch", "path"],
                        help="fetch: download if missing; path: print the cache folder")
    parser.add_argument("--force", action="store_true", help="download again even if cached")
    parser.set_defaults(func=_run)


def _run(args) -> int:
    if args.action == "path":
        print(cache_folder())
        return 0
    fetch(force=args.force)
    return 0
