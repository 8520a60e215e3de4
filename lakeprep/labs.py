"""`lakeprep labs run` executes the lab notebooks with papermill; `lakeprep labs build` writes the
learner labs from the solutions.

Solutions are the source. A learner lab is its solution with every region between
`# BEGIN SOLUTION` and `# END SOLUTION` replaced by a TODO prompt, and with every cell tagged
`solution-only` dropped. `# BEGIN SOLUTION: <prompt>` sets the TODO text.
"""
from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

from lakeprep.config import CHAPTERS, REPO_ROOT, SCALES, SOURCES, TARGETS, check_choice
from lakeprep.errors import LakeprepError

SOLUTIONS = REPO_ROOT / "solutions"
LABS = REPO_ROOT / "labs"
DEFAULT_OUT = REPO_ROOT / "build" / "labs"
PARAMETER_KEYS = ("target", "scale", "seed", "catalog", "schema")

_BEGIN = re.compile(r"^(\s*)# BEGIN SOLUTION(?::\s*(.*))?$")
_END = re.compile(r"^\s*# END SOLUTION\s*$")


def notebook_name(chapter: int) -> str:
    return f"ch{chapter:02d}-lab.ipynb"


def parse_chapters(text: str | None) -> list[int]:
    """'1-6', '2', '1,3,5' or '2-4,6' into a sorted list of chapters."""
    if not text:
        return list(CHAPTERS)
    chosen: set[int] = set()
    for part in text.split(","):
        part = part.strip()
        try:
            if "-" in part:
                first, last = (int(x) for x in part.split("-", 1))
                numbers = range(first, last + 1)
            else:
                numbers = [int(part)]
        except ValueError:
            raise LakeprepError(f"cannot read chapters {text!r}: write e.g. 1-6, 2 or 1,3") from None
        for n in numbers:
            check_choice("chapter", n, CHAPTERS)
            chosen.add(n)
    return sorted(chosen)


# -- learner labs from solutions -----------------------------------------------------------------

def strip_solution(source: str, where: str) -> str:
    """Replace each marked solution region by its TODO prompt, keeping the indentation."""
    out, inside = [], False
    for number, line in enumerate(source.splitlines(), 1):
        begin = _BEGIN.match(line)
        if begin:
            if inside:
                raise LakeprepError(f"{where}, line {number}: BEGIN SOLUTION inside another region; "
                                    "close the first with # END SOLUTION")
            inside = True
            indent, prompt = begin.group(1), begin.group(2) or "complete this step"
            out.append(f"{indent}# TODO: {prompt}")
            out.append(f"{indent}...")
        elif _END.match(line):
            if not inside:
                raise LakeprepError(f"{where}, line {number}: END SOLUTION without BEGIN SOLUTION")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise LakeprepError(f"{where}: BEGIN SOLUTION is never closed; add # END SOLUTION")
    return "\n".join(out)


def learner_version(solution: dict, name: str) -> dict:
    nb = json.loads(json.dumps(solution))
    cells = []
    for index, cell in enumerate(nb["cells"]):
        if "solution-only" in cell.get("metadata", {}).get("tags", []):
            continue
        if cell["cell_type"] == "code":
            source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            cell["source"] = strip_solution(source, f"{name}, cell {index + 1}")
        cells.append(cell)
    nb["cells"] = cells
    return nb


def _dump(nb: dict) -> str:
    return json.dumps(nb, indent=1, ensure_ascii=False, sort_keys=True) + "\n"


def build_labs(check: bool = False) -> list[str]:
    """Write labs/ from solutions/; with check=True only report the stale files."""
    stale = []
    solutions = sorted(SOLUTIONS.glob("ch*-lab.ipynb"))
    if not solutions:
        raise LakeprepError(f"no solution notebooks in {SOLUTIONS}")
    LABS.mkdir(exist_ok=True)
    for path in solutions:
        text = _dump(learner_version(json.loads(path.read_text()), path.name))
        target = LABS / path.name
        if not target.exists() or target.read_text() != text:
            stale.append(str(target.relative_to(REPO_ROOT)))
            if not check:
                target.write_text(text)
    orphans = sorted(p for p in LABS.glob("ch*-lab.ipynb") if not (SOLUTIONS / p.name).exists())
    stale += [f"{p.relative_to(REPO_ROOT)} (no solution)" for p in orphans]
    return stale


# -- running -------------------------------------------------------------------------------------

def _raise_for_untagged_errors(nb, output_path):
    """Papermill's final check, minus cells tagged `raises-exception`.

    Labs show some failures on purpose (a tracking call with no run, say) in cells tagged
    `raises-exception`; nbclient runs on past them, but papermill would still fail the notebook.
    A tagged cell that did NOT raise is reported instead, since its lesson silently broke.
    """
    from papermill.exceptions import PapermillExecutionError

    for index, cell in enumerate(nb.cells):
        errors = [o for o in cell.get("outputs", []) if o.output_type == "error"
                  and not (o.ename == "SystemExit" and o.evalue in ("", "0"))]
        tagged = "raises-exception" in cell.get("metadata", {}).get("tags", [])
        if errors and not tagged:
            e = errors[0]
            raise PapermillExecutionError(cell_index=index, exec_count=cell.execution_count,
                                          source=cell.source, ename=e.ename, evalue=e.evalue,
                                          traceback=e.traceback)
        if tagged and not errors and cell.get("execution_count") is not None:
            raise PapermillExecutionError(
                cell_index=index, exec_count=cell.execution_count, source=cell.source,
                ename="ExpectedExceptionMissing",
                evalue="this cell is tagged raises-exception but ran without an error", traceback=[])

class _Progress:
    """Prints one line per cell: notebook, cell, seconds for the cell, seconds so far."""

    def __init__(self, name: str, total: int):
        self.name, self.total, self.started, self.cell_started = name, total, time.monotonic(), 0.0

    def on_cell_start(self, cell, cell_index, **_):
        self.cell_started = time.monotonic()

    def on_cell_executed(self, cell, cell_index, **_):
        if cell.get("cell_type") != "code":
            return
        now = time.monotonic()
        first = next((l for l in cell.get("source", "").splitlines() if l.strip()), "")[:50]
        print(f"  {self.name}  cell {cell_index + 1:>3}/{self.total}  {now - self.cell_started:6.1f}s"
              f"  (total {now - self.started:6.1f}s)  {first}", flush=True)


def run_labs(chapters: list[int], source: str = "solutions", target: str = "local",
             scale: str = "small", seed: int = 42, out: Path = DEFAULT_OUT,
             catalog: str = "", schema: str = "", explicit: bool = False,
             folder: Path | None = None) -> dict:
    """Execute the chosen labs in order; stop at the first failure. `folder` overrides the
    notebooks' folder (tests use it); otherwise it is `solutions/` or `labs/`."""
    check_choice("source", source, SOURCES)
    check_choice("target", target, TARGETS)
    check_choice("scale", scale, SCALES)
    folder = Path(folder) if folder else REPO_ROOT / source
    notebooks = [(c, folder / notebook_name(c)) for c in chapters]
    missing = [p.name for _, p in notebooks if not p.exists()]
    if missing and explicit:
        raise LakeprepError(f"no notebook for {', '.join(missing)} yet; existing labs: "
                            + ", ".join(sorted(p.name for p in folder.glob('ch*-lab.ipynb'))))
    notebooks = [(c, p) for c, p in notebooks if p.exists()]
    if not notebooks:
        raise LakeprepError(f"no lab notebooks found in {folder}")
    if target == "local":
        from lakeprep import jars
        from lakeprep.doctor import require_java
        require_java()
        if not jars.cached_jars():
            raise LakeprepError("the Delta Lake JARs are not cached; run `make jars` first")

    import papermill as pm
    import papermill.execute
    from papermill.exceptions import PapermillExecutionError

    papermill.execute.raise_for_execution_errors = _raise_for_untagged_errors

    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    parameters = {"target": target, "scale": scale, "seed": int(seed),
                  "catalog": catalog, "schema": schema}
    summary = {"source": source, "parameters": parameters, "notebooks": [],
               "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    print(f"Running {len(notebooks)} lab(s) from {source}/ on {target} at scale {scale}, seed {seed}")
    run_started = time.monotonic()
    failed = None
    for chapter, path in notebooks:
        result_path = out / path.name
        entry = {"chapter": chapter, "notebook": path.name, "path": str(result_path)}
        if failed:
            entry.update(status="skipped", seconds=0.0)
            summary["notebooks"].append(entry)
            continue
        nb = json.loads(path.read_text())
        tagged = any("parameters" in c.get("metadata", {}).get("tags", []) for c in nb["cells"])
        progress = _Progress(path.stem, len(nb["cells"]) + tagged)  # papermill injects one cell
        print(f"▶ {path}", flush=True)
        started = time.monotonic()
        try:
            pm.execute_notebook(str(path), str(result_path), parameters=parameters,
                                cwd=str(REPO_ROOT), progress_bar=False, request_save_on_cell_execute=False,
                                on_cell_start=progress.on_cell_start,
                                on_cell_executed=progress.on_cell_executed)
            entry["status"] = "ok"
        except PapermillExecutionError as exc:
            entry.update(status="failed", failed_cell=exc.exec_count, error=f"{exc.ename}: {exc.evalue}")
            failed = entry
            source_lines = (exc.source or "").strip().splitlines()
            print(f"✘ {path.name} failed in cell {exc.exec_count}:", file=sys.stderr)
            for line in source_lines[:12]:
                print(f"    | {line}", file=sys.stderr)
            print(f"  {exc.ename}: {exc.evalue}", file=sys.stderr)
            print(f"  executed notebook: {result_path}", file=sys.stderr)
        entry["seconds"] = round(time.monotonic() - started, 2)
        if entry["status"] == "ok":
            print(f"✔ {path.name} in {entry['seconds']:.1f} s", flush=True)
        summary["notebooks"].append(entry)
    summary["total_seconds"] = round(time.monotonic() - run_started, 2)
    summary["status"] = "failed" if failed else "ok"
    (out / "run-summary.json").write_text(json.dumps(summary, indent=2))
    print(f"{'Failed' if failed else 'Done'}: {sum(1 for n in summary['notebooks'] if n['status'] == 'ok')}"
          f"/{len(notebooks)} labs in {summary['total_seconds']:.1f} s; summary in {out / 'run-summary.json'}")
    return summary


def add_commands(sub) -> None:
    labs = sub.add_parser("labs", help="run the lab notebooks, or build learner labs from solutions")
    verbs = labs.add_subparsers(dest="labs_command", metavar="VERB")
    verbs.required = True
    run = verbs.add_parser("run", help="execute lab notebooks in chapter order with papermill")
    run.add_argument("--chapters", help="e.g. 1-6, 2 or 1,3 (default: every lab that exists)")
    run.add_argument("--source", default="solutions", help=f"one of {', '.join(SOURCES)}")
    run.add_argument("--target", default="local", help=f"one of {', '.join(TARGETS)}")
    run.add_argument("--scale", default="small", help=f"one of {', '.join(SCALES)}")
    run.add_argument("--seed", type=int, default=42)
    run.add_argument("--catalog", default="", help="catalog for the lab tables (default: config)")
    run.add_argument("--schema", default="", help="schema for the lab tables (default: config)")
    run.add_argument("--out", default=str(DEFAULT_OUT), help="folder for executed notebooks")
    run.set_defaults(func=_run)
    build = verbs.add_parser("build", help="write labs/ from solutions/ (solutions are the source)")
    build.add_argument("--check", action="store_true", help="fail if labs/ is out of date")
    build.set_defaults(func=_build)


def _run(args) -> int:
    summary = run_labs(parse_chapters(args.chapters), source=args.source, target=args.target,
                       scale=args.scale, seed=args.seed, out=Path(args.out), catalog=args.catalog,
                       schema=args.schema, explicit=bool(args.chapters))
    return 0 if summary["status"] == "ok" else 1


def _build(args) -> int:
    stale = build_labs(check=args.check)
    if args.check:
        if stale:
            print("labs/ is out of date with solutions/: " + ", ".join(stale)
                  + "\n  fix: run `lakeprep labs build` and commit the result", file=sys.stderr)
            return 1
        print("labs/ is in sync with solutions/")
        return 0
    print(f"wrote {len(stale)} learner lab(s)" + (": " + ", ".join(stale) if stale else " (all up to date)"))
    return 0
