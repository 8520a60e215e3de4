"""The `quiz`, `bank` and `grade` verbs driven as a learner or instructor would, with piped stdin."""
from __future__ import annotations

import csv
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIX = ROOT / "tests" / "fixtures" / "quiz"
BANKS = FIX / "banks"
HEAVY = ("pyspark", "mlflow", "pandas", "numpy", "matplotlib")


def run(*args: str, stdin: str = "", home: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    if home is not None:
        env["LAKEPREP_QUIZ_HOME"] = str(home)
    return subprocess.run([sys.executable, "-m", "lakeprep", *args], input=stdin, cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


# ------------------------------------------------------------------------------ start-up


def test_quiz_help_does_not_import_spark_or_mlflow():
    # 1. -X importtime lists every module loaded through an import statement
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "lakeprep", "quiz", "--help"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "practice" in done.stdout
    imported = {line.split("|")[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}
    assert "argparse" in imported  # the probe works
    loaded = sorted(m for m in imported if m.split(".")[0] in HEAVY)
    assert loaded == [], f"`lakeprep quiz --help` imported {loaded}"
    # 2. sys.modules also catches importlib.import_module, which importtime does not time
    script = (
        "import runpy, sys\n"
        "sys.argv = ['lakeprep', 'quiz', '--help']\n"
        "try:\n    runpy.run_module('lakeprep', run_name='__main__', alter_sys=True)\n"
        "except SystemExit:\n    pass\n"
        f"print('lakeprep.quiz.cli' in sys.modules, sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r}))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "True []"


def test_no_quiz_module_pulls_in_heavy_libraries():
    """Importing every module of the package (what grading and exams use) stays light as well."""
    script = (
        "import importlib, pkgutil, sys, lakeprep.quiz as p\n"
        "for m in pkgutil.iter_modules(p.__path__): importlib.import_module('lakeprep.quiz.' + m.name)\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r}))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize("verb, subverbs", [
    ("quiz", ["practice", "exam", "review"]),
    ("bank", ["validate", "stats", "export"]),
    ("grade", ["quizzes", "rubrics"]),
])
def test_help_lists_subverbs(verb, subverbs):
    done = run(verb, "--help")
    assert done.returncode == 0
    for sub in subverbs:
        assert f"\n    {sub} " in done.stdout


# ------------------------------------------------------------------------------ practice


def test_practice_with_piped_answers(tmp_path):
    answers = "b\na,c\na,b\nfalse\n0.07\n"  # right, right, 2/3 partial, right, wrong
    done = run("quiz", "practice", "--chapter", "1", "--bank", str(BANKS), "--no-shuffle", stdin=answers, home=tmp_path)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert out.count("Correct.") == 3
    assert "Partly right (0.67 of 1 point)" in out
    assert "Not quite. The answer is: 0.0625 (± 0.001)" in out
    assert "Why: 0.25 / 4 = 0.0625." in out
    assert "Score: 3.67/5 (73%)" in out
    revisit = out.split("Sections to revisit")[1].splitlines()
    assert "Observability and drift (book/ch05.md#ch05-observability)" in revisit[1]
    assert "Point-in-time correctness" in revisit[2]
    with sqlite3.connect(tmp_path / "review.sqlite3") as db:
        queued = sorted(r[0] for r in db.execute("SELECT question_id FROM items"))
    assert queued == ["ch01-m-02", "ch01-n-01"]


def test_practice_option_feedback_and_quit(tmp_path):
    done = run("quiz", "practice", "--chapter", "1", "--bank", str(BANKS), "--no-shuffle", "--no-review",
               stdin="c\nq\n", home=tmp_path)
    assert done.returncode == 0
    assert "c: A SQL warehouse does not run training code." in done.stdout
    assert "Stopped early." in done.stdout and "Score: 0/1 (0%)" in done.stdout
    assert "Question 2/5" in done.stdout and "Question 3/5" not in done.stdout
    assert not (tmp_path / "review.sqlite3").exists()


def test_practice_reprompts_on_invalid_input_and_survives_eof(tmp_path):
    done = run("quiz", "practice", "--chapter", "1", "--bank", str(BANKS), "--no-shuffle", stdin="z\nb\n",
               home=tmp_path)
    assert done.returncode == 0
    assert "'z' is not an option of ch01-s-01: answer with one of a, b, c." in done.stdout
    assert "Score: 1/1 (100%)" in done.stdout and "Stopped early." in done.stdout


def test_practice_by_objective_and_unknown_objective(tmp_path):
    done = run("quiz", "practice", "--objective", "DEP.1.1", "--bank", str(BANKS), "--no-review", home=tmp_path)
    assert done.returncode == 0 and done.stdout.startswith("2 questions.")  # ch01-tf-01 + one pool question
    done = run("quiz", "practice", "--objective", "MD.9", "--bank", str(BANKS), home=tmp_path)
    assert done.returncode == 2 and "unknown objective 'MD.9'" in done.stderr


# ------------------------------------------------------------------------------ exam


def test_exam_pause_resume_and_result(tmp_path):
    args = ("quiz", "exam", "--bank", str(BANKS), "--questions", "5", "--seed", "3", "--learner", "tess")
    first = run(*args, stdin="a\na\nq\n", home=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "Answer every item: wrong answers cost nothing" in first.stdout
    assert "time left 1:59:5" in first.stdout
    assert "Correct." not in first.stdout and "Why:" not in first.stdout  # no feedback during the exam
    state = json.loads((tmp_path / "exam-in-progress.json").read_text())
    assert state["position"] == 2 and len(state["answers"]) == 2 and len(state["question_ids"]) == 5

    again = run(*args, stdin="", home=tmp_path)
    assert again.returncode == 2 and "--resume" in again.stderr

    # a learner typing "a" everywhere gets exactly the MD items (the fixture pool's MD key is a): 2/2/1 -> 2 of 5
    done = run("quiz", "exam", "--resume", "--bank", str(BANKS), stdin="a\na\na\n", home=tmp_path)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "Resuming ml-professional-s3-f1: question 3 of 5." in out
    assert "Score: 2/5 (40.0%)" in out
    assert "MD   Model Development      2/2 (100%)" in out
    assert "OPS  MLOps                  0/2 (0%)" in out
    assert "DEP  Model Deployment       0/1 (0%)" in out
    assert "FAIL against a pass threshold of 70% (community-reported" in out
    assert "Revision map (book sections by points lost):" in out
    assert not (tmp_path / "exam-in-progress.json").exists()
    (submission,) = (tmp_path / "exams").glob("*-submission.yml")
    assert "bank: ml-professional-s3-f1" in submission.read_text()
    with sqlite3.connect(tmp_path / "review.sqlite3") as db:
        assert db.execute("SELECT count(*) FROM items").fetchone()[0] == 3


def test_exam_too_large_for_the_pool(tmp_path):
    done = run("quiz", "exam", "--bank", str(BANKS), home=tmp_path)  # 59 from a 14-question pool
    assert done.returncode == 2
    assert "the practice pool is too small for an exam of 59 questions (MD: need 26, have 6" in done.stderr


def test_two_forms_are_disjoint_from_the_cli(tmp_path):
    ids = []
    for form in ("1", "2"):
        home = tmp_path / form
        run("quiz", "exam", "--bank", str(BANKS), "--questions", "5", "--seed", "8", "--form", form,
            stdin="q\n", home=home)
        ids.append(set(json.loads((home / "exam-in-progress.json").read_text())["question_ids"]))
    assert len(ids[0]) == len(ids[1]) == 5 and not ids[0] & ids[1]


# ------------------------------------------------------------------------------ review


def test_review_from_the_cli(tmp_path):
    run("quiz", "practice", "--chapter", "1", "--bank", str(BANKS), "--no-shuffle", stdin="a\n", home=tmp_path)
    listed = run("quiz", "review", "--list", home=tmp_path)
    assert "ch01-s-01" in listed.stdout and "* due today" in listed.stdout
    done = run("quiz", "review", "--bank", str(BANKS), stdin="b\n5\n", home=tmp_path)
    assert done.returncode == 0
    assert "1 of 1 queued questions are due today" in done.stdout
    assert "Next review in 1 day(s)" in done.stdout and "(ease 2.60)" in done.stdout
    done = run("quiz", "review", "--bank", str(BANKS), home=tmp_path)
    assert "Nothing to review now; next due" in done.stdout


# ------------------------------------------------------------------------------ grading


def test_grade_quizzes_cli(tmp_path):
    out = tmp_path / "out"
    done = run("grade", "quizzes", str(FIX / "submissions"), "--out", str(out), "--bank", str(BANKS))
    assert done.returncode == 1  # errors.csv has rows
    assert "graded 4 submission(s); 5 problem(s)" in done.stdout
    for name in ("gradebook.csv", "item_analysis.csv", "errors.csv", "report.html"):
        assert (out / name).is_file()
    with (out / "gradebook.csv").open(newline="") as handle:
        learners = sorted(r["learner"] for r in csv.DictReader(handle))
    assert learners == ["../../etc/x", "alice", "bob", "carol"]
    assert len(list((out / "feedback").glob("*.md"))) == 4


def test_grade_rubrics_cli(tmp_path):
    done = run("grade", "rubrics", str(FIX / "assessments"), "--out", str(tmp_path), "--rubrics",
               str(BANKS / "rubrics"))
    assert done.returncode == 1 and "graded 2 assessment(s); 2 problem(s)" in done.stdout


def test_bank_stats(tmp_path):
    done = run("bank", "stats", "--dir", str(BANKS))
    assert done.returncode == 0
    assert "practice pool: 14 questions" in done.stdout
    assert "MD      6 in pool; one exam needs 26, two disjoint forms need 52" in done.stdout


def test_grading_twice_into_a_folder_inside_the_submissions(tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "a.yml").write_text("learner: a\nbank: ch01\nanswers: {ch01-s-01: b}\n", encoding="utf-8")
    for _ in range(2):
        done = run("grade", "quizzes", str(subs), "--out", str(subs / "results"), "--bank", str(BANKS))
        assert done.returncode == 0, done.stdout + done.stderr
        assert "graded 1 submission(s); 0 problem(s)" in done.stdout


def test_grading_an_empty_folder(tmp_path):
    (tmp_path / "subs").mkdir()
    done = run("grade", "quizzes", str(tmp_path / "subs"), "--out", str(tmp_path / "out"), "--bank", str(BANKS))
    assert done.returncode == 0 and "graded 0 submission(s)" in done.stdout
    assert (tmp_path / "out" / "report.html").read_text().count("<svg") == 1
    missing = run("grade", "quizzes", str(tmp_path / "nope"), "--out", str(tmp_path / "out"))
    assert missing.returncode == 2 and "is not a folder of submissions" in missing.stderr
