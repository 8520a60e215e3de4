"""Notebook hygiene: no outputs in git, learner labs in sync, one shape of parameters cell."""
import ast
import json
import re

import pytest

from lakeprep.labs import PARAMETER_KEYS, learner_version, strip_solution
from lakeprep.errors import LakeprepError
from tests.conftest import REPO, run_cli

NOTEBOOKS = sorted((REPO / "solutions").glob("*.ipynb")) + sorted((REPO / "labs").glob("*.ipynb"))
SOLUTIONS = sorted((REPO / "solutions").glob("ch*-lab.ipynb"))


def cells(path):
    return json.loads(path.read_text())["cells"]


def source(cell):
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def test_there_are_notebooks():
    assert SOLUTIONS, "no solution notebooks"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_no_outputs_in_git(path):
    for index, cell in enumerate(cells(path)):
        if cell["cell_type"] == "code":
            assert cell.get("outputs") == [], f"{path.name} cell {index + 1} has outputs"
            assert cell.get("execution_count") is None, f"{path.name} cell {index + 1} has a count"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_parameters_cell_holds_exactly_the_shared_keys(path):
    tagged = [c for c in cells(path) if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, f"{path.name}: exactly one cell tagged `parameters`"
    tree = ast.parse(source(tagged[0]))
    keys = [t.id for node in tree.body for t in getattr(node, "targets", [])]
    assert tuple(keys) == PARAMETER_KEYS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_lab_cells_never_branch_on_the_target(path):
    for index, cell in enumerate(cells(path)):
        if cell["cell_type"] == "code":
            assert not re.search(r"\bif\b[^\n]*\btarget\b", source(cell)), \
                f"{path.name} cell {index + 1} branches on the target; move it into lakeprep.platform"


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.name)
def test_first_cell_after_parameters_starts_the_lab(path):
    code = [c for c in cells(path) if c["cell_type"] == "code"]
    chapter = int(path.name[2:4])
    assert f"start_lab({chapter}," in source(code[1]), \
        f"{path.name}: the cell after the parameters should call start_lab({chapter}, ...)"


def test_learner_labs_are_in_sync():
    result = run_cli("labs", "build", "--check")
    assert result.returncode == 0, result.stderr


def test_strip_solution_keeps_indentation_and_prompt():
    src = "x = 1\nif True:\n    # BEGIN SOLUTION: compute y\n    y = x + 1\n    # END SOLUTION\nprint(y)"
    assert strip_solution(src, "t") == "x = 1\nif True:\n    # TODO: compute y\n    ...\nprint(y)"


@pytest.mark.parametrize("bad, message", [
    ("# BEGIN SOLUTION\nx = 1", "never closed"),
    ("x = 1\n# END SOLUTION", "END SOLUTION without BEGIN"),
    ("# BEGIN SOLUTION\n# BEGIN SOLUTION\n# END SOLUTION", "inside another region"),
])
def test_unbalanced_markers_are_errors(bad, message):
    with pytest.raises(LakeprepError, match=message):
        strip_solution(bad, "nb.ipynb, cell 3")


def test_solution_only_cells_are_dropped():
    nb = {"cells": [
        {"cell_type": "markdown", "metadata": {}, "source": "intro"},
        {"cell_type": "code", "metadata": {"tags": ["solution-only"]}, "source": "answer = 42",
         "outputs": [], "execution_count": None},
        {"cell_type": "code", "metadata": {}, "source": "# BEGIN SOLUTION\nsecret = 1\n# END SOLUTION",
         "outputs": [], "execution_count": None},
    ], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    learner = learner_version(nb, "x.ipynb")
    assert [c["source"] for c in learner["cells"]] == ["intro", "# TODO: complete this step\n..."]
    assert "answer" not in json.dumps(learner) and "secret = 1" not in json.dumps(learner)


def test_every_learner_lab_hides_some_solution_code():
    for path in SOLUTIONS:
        solution = json.dumps(cells(path))
        learner = json.dumps(cells(REPO / "labs" / path.name))
        assert "BEGIN SOLUTION" in solution, f"{path.name} marks no solution region"
        assert "BEGIN SOLUTION" not in learner and "TODO" in learner
