"""Bank loading and validation: every error at once, with file, line, question id and fix."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lakeprep.quiz.bank import load_bank_file, load_banks
from lakeprep.quiz.catalog import load_catalog
from lakeprep.quiz.model import NumericAnswer

ROOT = Path(__file__).resolve().parents[2]
FIX = ROOT / "tests" / "fixtures" / "quiz"
BANKS = FIX / "banks"


@pytest.fixture(scope="module")
def catalog():
    return load_catalog(BANKS)


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_fixture_banks_are_valid_and_typed(catalog):
    banks = load_banks([BANKS / "ch01.yml", BANKS / "practice-a.yml"], catalog)
    assert banks.issues == []
    assert [b.id for b in banks.banks] == ["ch01", "practice-a"]
    assert banks.banks[0].chapter == 1 and banks.banks[1].chapter is None
    by_id = banks.by_id()
    assert by_id["ch01-m-01"].answer == ("a", "c")
    assert by_id["ch01-m-02"].scoring == "partial"
    assert by_id["ch01-m-01"].scoring == "all-or-nothing"
    assert by_id["ch01-tf-01"].answer is False
    assert by_id["ch01-n-01"].answer == NumericAnswer(0.0625, 0.001)
    assert by_id["ch01-s-01"].line == 5
    assert len(banks.pool) == 14 and all(q.bank == "practice-a" for q in banks.pool)


def test_every_mistake_is_reported_with_line_id_and_fix(catalog):
    bank, issues = load_bank_file(FIX / "invalid" / "broken.yml", catalog, display="broken.yml")
    found = {(i.line, i.question, i.problem.split(" (")[0]) for i in issues}
    expected = {
        (9, "br-01", "answer 'c' is not among the options"),
        (19, "br-02", "multiple answer not a list"),
        (22, "br-02", "unknown objective 'MD.9.9'"),
        (23, "br-02", "unknown section anchor 'ch01-nowhere'"),
        (25, "br-03", "missing explanation"),
        (30, "br-03", "missing feedback for wrong option c"),
        (33, "br-03", "bad difficulty 'extreme'"),
        (37, "br-04", "numeric without tolerance"),
        (43, "br-05", "bad type 'essay'"),
        (47, "br-05", "objective OLD.1.1 is retired from the exam guide"),
        (50, "br-01", "duplicate question id"),
    }
    assert found == expected
    assert all(i.file == "broken.yml" and i.fix for i in issues)
    assert bank is not None and bank.questions == []  # nothing broken reaches learners
    assert "(did you mean `MD.4.4`?)" in next(i.problem for i in issues if "MD.9.9" in i.problem)


def test_duplicate_ids_across_banks(catalog):
    banks = load_banks([BANKS / "ch01.yml", FIX / "invalid" / "other.yml"], catalog)
    dup = [i for i in banks.issues if "across banks" in i.problem]
    assert len(dup) == 1
    assert dup[0].question == "ch01-s-01" and dup[0].line == 4 and "ch01.yml:5" in dup[0].problem
    assert "ch01-s-01" in banks.by_id() and banks.by_id()["ch01-s-01"].bank == "ch01"


def test_yaml_syntax_error_has_its_line(tmp_path, catalog):
    path = _write(tmp_path, "ch01.yml", "id: ch01\ntitle: t\nquestions:\n  - id: x\n    stem: [unclosed\n")
    bank, issues = load_bank_file(path, catalog)
    assert bank is None
    assert len(issues) == 1 and "YAML syntax error" in issues[0].problem and issues[0].line >= 5


def test_python_tags_are_refused(tmp_path, catalog):
    path = _write(tmp_path, "evil.yml", "id: !!python/object/apply:os.system ['echo pwned']\ntitle: t\n")
    bank, issues = load_bank_file(path, catalog)
    assert bank is None and "YAML syntax error" in issues[0].problem


def test_type_specific_rules(tmp_path, catalog):
    text = """id: mix
title: type rules
questions:
  - id: m-01
    type: single
    stem: s
    options: {a: x, b: y}
    answer: [a]
    scoring: partial
    explanation: e
    feedback: {b: fb, z: zz}
    objectives: MD.1.1
    section: ch01-compute
    difficulty: easy
    explaination: typo
  - id: m-02
    type: truefalse
    stem: s
    options: {a: x, b: y}
    answer: "true"
    explanation: e
    objectives: [MD.1.1]
    section: ch01-compute
    difficulty: easy
  - id: m-03
    type: numeric
    stem: s
    answer: 0.5
    explanation: e
    objectives: [MD.1.1]
    section: ch01-compute
    difficulty: easy
  - id: m-04
    type: single
    stem: s
    options: {yes: x, no: y}
    answer: a
    explanation: e
    objectives: [MD.1.1]
    section: ch01-compute
    difficulty: easy
"""
    bank, issues = load_bank_file(_write(tmp_path, "mix.yml", text), catalog)
    problems = {(i.question, i.line, i.problem.split(" (")[0]) for i in issues}
    assert ("m-01", 8, "a single-answer question has one answer key, found a list") in problems
    assert ("m-01", 9, "`scoring` applies to multiple questions only") in problems
    assert ("m-01", 11, "feedback for 'z', which is not an option") in problems
    assert ("m-01", 12, "objectives must be a list") in problems
    assert ("m-01", 15, "unknown field `explaination`") in problems
    assert ("m-02", 19, "a truefalse question takes no options") in problems
    assert ("m-02", 20, "a truefalse answer must be true or false, found 'true'") in problems
    assert ("m-03", 28, "numeric without tolerance") in problems
    assert any(q == "m-04" and "YAML read it as a boolean" in p for q, _, p in
               {(i.question, i.line, i.problem) for i in issues})
    fix = next(i.fix for i in issues if i.problem.startswith("objectives must be a list"))
    assert fix == "write `objectives: [MD.1.1]`"


def test_bank_id_must_match_file_name(tmp_path, catalog):
    text = (BANKS / "ch01.yml").read_text(encoding="utf-8")
    bank, issues = load_bank_file(_write(tmp_path, "ch07.yml", text), catalog)
    assert [(i.line, i.problem) for i in issues] == [(1, "bank id 'ch01' differs from the file name 'ch07.yml'")]


def _cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lakeprep", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120)


def test_cli_validate_reports_all_and_exits_nonzero(tmp_path):
    for name in ("objectives.yml", "sections.yml"):
        shutil.copy(BANKS / name, tmp_path / name)
    shutil.copy(FIX / "invalid" / "broken.yml", tmp_path / "broken.yml")
    done = _cli("bank", "validate", str(tmp_path))
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"{tmp_path / 'broken.yml'}:9: [br-01] answer 'c' is not among the options" in done.stdout
    assert "fix: set `answer:` to the key of the right option" in done.stdout
    assert "11 problem(s) in 1 file(s)" in done.stdout


def test_cli_validate_clean_fixture_exits_zero():
    done = _cli("bank", "validate", str(BANKS))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "OK: 2 bank file(s), 19 valid question(s), 1 rubric file(s)" in done.stdout
