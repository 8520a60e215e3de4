"""Benchmark the quiz engine: class grading throughput and `lakeprep quiz --help` start-up.

    python scripts/bench_quiz.py [--learners 1000] [--questions 59] [--runs 5]

Grades N synthetic submissions x 59 questions end to end (read files, score, item analysis,
gradebook, feedback files, HTML report) and times `python -m lakeprep quiz --help` in a fresh
interpreter. Reports medians over several runs, prints a table and writes build/bench-quiz.json.
Goals on a 2-core machine: grading 1,000 x 59 in <= 2 s, start-up <= 0.5 s. No assertions: CI and
reviewers read the numbers.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lakeprep.quiz import yamlsafe  # noqa: E402
from lakeprep.quiz.bank import load_bank_dir  # noqa: E402
from lakeprep.quiz.catalog import load_catalog  # noqa: E402
from lakeprep.quiz.grading import grade_files, submission_files, write_outputs  # noqa: E402

GOAL_GRADE_S = 2.0
GOAL_STARTUP_S = 0.5


def make_bank(directory: Path, n: int, rng: random.Random) -> list[dict]:
    """A bank of n questions (mixed types) on real objective ids and book anchors."""
    shutil.copy(ROOT / "quizzes" / "objectives.yml", directory / "objectives.yml")
    shutil.copy(ROOT / "book" / "sections.yml", directory / "sections.yml")
    objectives = list(yamlsafe.load((ROOT / "quizzes" / "objectives.yml").read_text())["objectives"])
    chapters = yamlsafe.load((ROOT / "book" / "sections.yml").read_text())["chapters"]
    anchors = [a for c in chapters.values() for a in c["sections"]]
    questions = []
    for i in range(n):
        kind = ("single", "single", "single", "multiple", "truefalse", "numeric")[i % 6]
        q = {"id": f"bench-{i:03d}", "type": kind, "stem": f"Benchmark question {i}?", "explanation": "Because.",
             "objectives": [objectives[i % len(objectives)]], "section": anchors[i % len(anchors)],
             "difficulty": "medium"}
        if kind in ("single", "multiple"):
            q["options"] = {k: f"option {k}" for k in "abcd"}
            q["answer"] = "b" if kind == "single" else ["a", "c"]
            if kind == "multiple" and i % 2:
                q["scoring"] = "partial"
            right = {q["answer"]} if kind == "single" else set(q["answer"])
            q["feedback"] = {k: f"{k} is wrong" for k in "abcd" if k not in right}
        elif kind == "truefalse":
            q["answer"] = bool(i % 2)
        else:
            q["answer"] = {"value": 0.9, "tolerance": 0.01}
        questions.append(q)
    (directory / "bench.yml").write_text(yamlsafe.dump({"id": "bench", "title": "Benchmark", "questions": questions}))
    return questions


def make_submissions(directory: Path, questions: list[dict], learners: int, rng: random.Random, fmt: str) -> None:
    """Learners of varying ability, so item statistics have something to correlate."""
    directory.mkdir(parents=True, exist_ok=True)
    for n in range(learners):
        ability = rng.random()
        answers = {}
        for q in questions:
            right = rng.random() < 0.3 + 0.6 * ability
            if q["type"] == "single":
                answers[q["id"]] = q["answer"] if right else rng.choice("acd")
            elif q["type"] == "multiple":
                answers[q["id"]] = q["answer"] if right else rng.sample("abcd", rng.randint(1, 3))
            elif q["type"] == "truefalse":
                answers[q["id"]] = q["answer"] if right else not q["answer"]
            else:
                answers[q["id"]] = 0.9 if right else round(rng.uniform(0, 2), 3)
        doc = {"learner": f"learner-{n:04d}", "bank": "bench", "answers": answers}
        if fmt == "json":
            (directory / f"l{n:04d}.json").write_text(json.dumps(doc))
        else:
            (directory / f"l{n:04d}.yml").write_text(yamlsafe.dump(doc))


def time_grading(bank_dir: Path, subs: Path, out: Path) -> float:
    start = time.perf_counter()
    catalog = load_catalog(bank_dir)
    banks = load_bank_dir(bank_dir, catalog)
    run = grade_files(submission_files(subs), banks, catalog, 0.7)
    write_outputs(run, out, catalog)
    elapsed = time.perf_counter() - start
    assert not run.problems and len(run.graded) == len(list(subs.iterdir())), run.problems[:3]
    return elapsed


def time_startup() -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "lakeprep", "quiz", "--help"], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=1000)
    parser.add_argument("--questions", type=int, default=59)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "bench-quiz.json")
    args = parser.parse_args(argv)

    rng = random.Random(20260101)
    results = {}
    with tempfile.TemporaryDirectory(prefix="bench-quiz-") as tmp:
        tmp = Path(tmp)
        bank_dir = tmp / "bank"
        bank_dir.mkdir()
        questions = make_bank(bank_dir, args.questions, rng)
        for fmt in ("yaml", "json"):
            subs = tmp / f"subs-{fmt}"
            make_submissions(subs, questions, args.learners, rng, fmt)
            times = [time_grading(bank_dir, subs, tmp / f"out-{fmt}-{i}") for i in range(args.runs)]
            results[f"grade_{fmt}"] = {"median_s": statistics.median(times), "runs_s": times}
    startup = [time_startup() for _ in range(max(args.runs, 5))]
    results["startup_quiz_help"] = {"median_s": statistics.median(startup), "runs_s": startup}

    rows = [
        (f"grade {args.learners} YAML submissions x {args.questions} q", results["grade_yaml"]["median_s"], GOAL_GRADE_S),
        (f"grade {args.learners} JSON submissions x {args.questions} q", results["grade_json"]["median_s"], GOAL_GRADE_S),
        ("lakeprep quiz --help (fresh interpreter)", results["startup_quiz_help"]["median_s"], GOAL_STARTUP_S),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"{'benchmark':<{width}}  {'median s':>9}  {'goal s':>6}  ok")
    for name, median, goal in rows:
        print(f"{name:<{width}}  {median:>9.3f}  {goal:>6.1f}  {'yes' if median <= goal else 'NO'}")
    report = {
        "learners": args.learners, "questions": args.questions, "runs": args.runs,
        "python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count(),
        "goals_s": {"grade": GOAL_GRADE_S, "startup": GOAL_STARTUP_S}, **results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
