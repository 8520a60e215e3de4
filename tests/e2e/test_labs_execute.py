"""Every solution notebook executes end to end through the runner, as `make course` runs it.

The run writes build/labs/ (executed notebooks + run-summary.json), which the book build reuses.
"""
import json
import os
import subprocess
import sys

import nbformat
import pytest

from lakeprep.labs import run_labs
from tests.conftest import BUILD, LABS_HOME, REPO

SOLUTIONS = sorted((REPO / "solutions").glob("ch*-lab.ipynb"))
OUT = BUILD / "labs"


@pytest.mark.e2e
@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.name)
def test_solution_executes(lab_run, path):
    _, summary = lab_run
    entry = next(n for n in summary["notebooks"] if n["notebook"] == path.name)
    assert entry["status"] == "ok", entry.get("error")
    executed = nbformat.read(OUT / path.name, as_version=4)
    errors = [o for c in executed.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"
              and "raises-exception" not in c.metadata.get("tags", [])]
    assert not errors


@pytest.mark.e2e
def test_run_summary_is_complete(lab_run):
    code, summary = lab_run
    assert code == 0
    assert summary["status"] == "ok"
    assert [n["notebook"] for n in summary["notebooks"]] == [p.name for p in SOLUTIONS]
    assert all(n["seconds"] > 0 for n in summary["notebooks"])
    assert summary["parameters"] == {"target": "local", "scale": "small", "seed": 42,
                                     "catalog": "", "schema": ""}


@pytest.mark.e2e
def test_a_lab_run_out_of_order_names_the_missing_artifact(tmp_path):
    later = [p for p in SOLUTIONS if p.name != "ch01-lab.ipynb"]
    if not later:
        pytest.skip("only lab 1 exists: there is no later lab to run out of order")
    chapter = int(later[0].name[2:4])
    env = dict(os.environ, LAKEPREP_HOME=str(tmp_path / "empty-ws"))
    result = subprocess.run([sys.executable, "-m", "lakeprep", "labs", "run", "--chapters", str(chapter),
                             "--out", str(tmp_path / "out")], env=env, cwd=REPO, capture_output=True,
                            text=True, timeout=900)
    assert result.returncode == 1
    assert f"run lab {chapter - 1} first" in result.stderr or "first: the" in result.stderr


def test_failing_cell_is_reported_with_its_source_error_and_path(tmp_path, capsys):
    folder = tmp_path / "nbs"
    folder.mkdir()
    for chapter, body in ((1, 'print("fine")'), (2, 'value = 41\nraise ValueError(f"boom {value}")'),
                          (3, 'print("never runs")')):
        nb = nbformat.v4.new_notebook()
        params = nbformat.v4.new_code_cell('target = "local"\nscale = "small"\nseed = 1\ncatalog = ""\nschema = ""')
        params.metadata["tags"] = ["parameters"]
        nb.cells = [params, nbformat.v4.new_code_cell(body)]
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.write(nb, folder / f"ch{chapter:02d}-lab.ipynb")
    summary = run_labs([1, 2, 3], folder=folder, out=tmp_path / "out")
    err = capsys.readouterr().err
    assert summary["status"] == "failed"
    assert [n["status"] for n in summary["notebooks"]] == ["ok", "failed", "skipped"]
    assert 'raise ValueError(f"boom {value}")' in err
    assert "ValueError: boom 41" in err
    assert str(tmp_path / "out" / "ch02-lab.ipynb") in err
    saved = json.loads((tmp_path / "out" / "run-summary.json").read_text())
    assert saved["notebooks"][1]["error"] == "ValueError: boom 41"


def _notebook(folder, chapter, body, tags=()):
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('target = "local"\nscale = "small"\nseed = 1\ncatalog = ""\nschema = ""')
    params.metadata["tags"] = ["parameters"]
    cell = nbformat.v4.new_code_cell(body)
    cell.metadata["tags"] = list(tags)
    nb.cells = [params, cell, nbformat.v4.new_code_cell('print("after")')]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, folder / f"ch{chapter:02d}-lab.ipynb")


def test_cells_tagged_raises_exception_may_fail_but_must_fail(tmp_path):
    folder = tmp_path / "nbs"
    folder.mkdir()
    _notebook(folder, 1, 'raise RuntimeError("shown on purpose")', tags=["raises-exception"])
    _notebook(folder, 2, 'x = 1  # meant to fail, but does not', tags=["raises-exception"])
    summary = run_labs([1, 2], folder=folder, out=tmp_path / "out")
    first, second = summary["notebooks"]
    assert first["status"] == "ok"
    executed = nbformat.read(tmp_path / "out" / "ch01-lab.ipynb", as_version=4)
    assert executed.cells[-1].outputs[0]["text"] == "after\n"   # the run went on past the error
    assert second["status"] == "failed"
    assert second["error"].startswith("ExpectedExceptionMissing")
