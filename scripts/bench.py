"""`make bench`: how long the course takes, against the floor it cannot beat.

Figures (medians over --repeats runs, measured in this run on this machine):
- spark_cold_start_s: a fresh process creating the Delta-enabled local session;
- kernel_start_s: starting a bare Jupyter kernel and running one empty cell;
- floor_per_notebook_s: a kernel start plus a Spark/Delta/MLflow start inside it, which every lab
  notebook pays before doing any work;
- labs: each lab's seconds, the total, and total / (floor_per_notebook_s × number of labs).
The serving figures join when scripts/bench_serving.py exists. Written to build/bench.json.
Times on a shared machine are noisy: read the ratios, not the absolute seconds.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
BUILD = REPO / "build"

SPARK_START = """
import time; t = time.monotonic()
from lakeprep.platform import get_platform
p = get_platform("local"); p.spark.range(1).count()
print("SECONDS", time.monotonic() - t)
"""

FLOOR_CELL = """
from lakeprep.platform import get_platform
p = get_platform("local"); p.spark.range(1).count()
p.setup_mlflow(); _ = p.experiment("bench-floor")
"""


def spark_cold_start(home: Path) -> float:
    env = dict(os.environ, LAKEPREP_HOME=str(home))
    out = subprocess.run([sys.executable, "-c", SPARK_START], env=env, capture_output=True,
                         text=True, check=True).stdout
    return float(out.split("SECONDS")[-1])


def kernel_seconds(code: str, home: Path) -> float:
    """Start a kernel, run `code`, stop it; the seconds from start to the cell's end."""
    from jupyter_client.manager import start_new_kernel

    os.environ["LAKEPREP_HOME"] = str(home)
    started = time.monotonic()
    km, kc = start_new_kernel(kernel_name="python3", cwd=str(REPO))
    try:
        reply = kc.execute_interactive(code, timeout=600)
        if reply["content"]["status"] != "ok":
            raise RuntimeError(f"bench cell failed: {reply['content']}")
        return time.monotonic() - started
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def run_labs_once(home: Path, out: Path) -> dict:
    env = dict(os.environ, LAKEPREP_HOME=str(home))
    subprocess.run([sys.executable, "-m", "lakeprep", "labs", "run", "--out", str(out)], env=env,
                   cwd=REPO, check=True, stdout=subprocess.DEVNULL)
    return json.loads((out / "run-summary.json").read_text())


def median(values):
    return round(statistics.median(values), 2)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-labs", action="store_true", help="only the start-up figures")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="lakeprep-bench-"))
    results: dict = {"repeats": args.repeats, "machine": {"cores": os.cpu_count()}}
    try:
        print(f"Spark+Delta cold start × {args.repeats} ...", flush=True)
        results["spark_cold_start_s"] = median(
            [spark_cold_start(scratch / f"spark-{i}") for i in range(args.repeats)])
        print(f"bare kernel start × {args.repeats} ...", flush=True)
        results["kernel_start_s"] = median(
            [kernel_seconds("pass", scratch / "kernel") for _ in range(args.repeats)])
        print(f"floor per notebook (kernel + Spark/Delta/MLflow) × {args.repeats} ...", flush=True)
        # A lab after the first finds the metastore and the MLflow database already created,
        # so one unmeasured run creates them first.
        kernel_seconds(FLOOR_CELL, scratch / "floor")
        results["floor_per_notebook_s"] = median(
            [kernel_seconds(FLOOR_CELL, scratch / "floor") for _ in range(args.repeats)])
        if not args.skip_labs:
            runs = []
            for i in range(args.repeats):
                print(f"all labs, run {i + 1}/{args.repeats} ...", flush=True)
                runs.append(run_labs_once(scratch / f"labs-{i}", scratch / f"out-{i}"))
                shutil.rmtree(scratch / f"labs-{i}", ignore_errors=True)
            names = [n["notebook"] for n in runs[0]["notebooks"]]
            per_lab = {name: median([next(n["seconds"] for n in r["notebooks"] if n["notebook"] == name)
                                     for r in runs]) for name in names}
            total = median([r["total_seconds"] for r in runs])
            floor = results["floor_per_notebook_s"] * len(names)
            results["labs"] = {"seconds": per_lab, "total_s": total, "floor_s": round(floor, 2),
                               "ratio_to_floor": round(total / floor, 2), "goal_ratio": 2.5}
        serving = REPO / "scripts" / "bench_serving.py"
        if serving.exists():
            sys.path.insert(0, str(serving.parent))
            os.environ["LAKEPREP_HOME"] = str(scratch / "serving")
            import bench_serving
            print("serving figures ...", flush=True)
            results["serving"] = bench_serving.measure(args.repeats)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    BUILD.mkdir(exist_ok=True)
    (BUILD / "bench.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))
    print(f"written to {BUILD / 'bench.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
