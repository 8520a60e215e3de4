"""Rubric validation and grading of rubric assessments."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest

from lakeprep.quiz.catalog import load_catalog
from lakeprep.quiz.rubrics import grade_rubric_dir, load_rubric_file, load_rubrics

ROOT = Path(__file__).resolve().parents[2]
FIX = ROOT / "tests" / "fixtures" / "quiz"
BANKS = FIX / "banks"


@pytest.fixture(scope="module")
def catalog():
    return load_catalog(BANKS)


def test_fixture_rubric_is_valid(catalog):
    rubrics, issues = load_rubrics([BANKS / "rubrics" / "lab02.yml"], catalog)
    assert issues == []
    rubric = rubrics["lab02"]
    assert rubric.max_points == 9 and rubric.pass_threshold == 0.6
    assert rubric.criteria[0].evidence == "lab02.pit_join_check"


def test_rubric_mistakes_are_reported(tmp_path, catalog):
    path = tmp_path / "bad.yml"
    path.write_text("""id: bad
chapter: 2
title: Bad
pass_threshold: 70
criteria:
  - id: c1
    description: d
    levels: {0: a, 1: b, 2: c}
    weight: 0
    section: ch09-nowhere
  - id: c1
    description: d
    levels: {0: a, 1: b, 2: c, 3: d}
    weight: 1
    section: ch02-point-in-time
""", encoding="utf-8")
    rubric, issues = load_rubric_file(path, catalog)
    assert rubric is None
    found = {(i.line, i.problem.split(" (")[0]) for i in issues}
    assert found == {
        (4, "bad pass_threshold 70"),
        (8, "levels must be exactly 0, 1, 2 and 3"),
        (9, "bad weight 0"),
        (10, "unknown section anchor 'ch09-nowhere'"),
        (11, "duplicate criterion id"),
    }
    assert "not 70" in next(i.fix for i in issues if i.line == 4)


def test_grading_assessments(tmp_path, catalog):
    rubrics, _ = load_rubrics([BANKS / "rubrics" / "lab02.yml"], catalog)
    grades, problems = grade_rubric_dir(FIX / "assessments", tmp_path, rubrics)
    with (tmp_path / "rubric_grades.csv").open(newline="") as handle:
        rows = {r["learner"]: r for r in csv.DictReader(handle)}
    # alice: (3 x 2 + 2 x 1) / (3 x 3) = 8/9; bob: self-check failed -> 0 x 2 + 3 x 1 = 3/9
    assert (rows["alice"]["score"], rows["alice"]["max"], rows["alice"]["fraction"], rows["alice"]["passed"]) == \
        ("8", "9", "0.8889", "yes")
    assert (rows["bob"]["fraction"], rows["bob"]["passed"], rows["bob"]["revisit"]) == \
        ("0.3333", "no", "ch02-point-in-time")
    assert set(rows) == {"alice", "bob"}
    with (tmp_path / "rubric_scores.csv").open(newline="") as handle:
        sources = {(r["learner"], r["criterion"]): r["source"] for r in csv.DictReader(handle)}
    assert sources[("bob", "pit-join")] == "evidence:lab02.pit_join_check"
    assert sources[("alice", "pit-join")] == "assessor"
    with (tmp_path / "errors.csv").open(newline="") as handle:
        errors = {r["file"]: r for r in csv.DictReader(handle)}
    assert errors["carol.yml"]["field"] == "scores.pit-join" and "level 5" in errors["carol.yml"]["problem"]
    assert errors["dan.yml"]["field"] == "rubric" and "lab99" in errors["dan.yml"]["problem"]
    assert len(problems) == 2
