"""Grading a folder of quiz submissions into a gradebook, item analysis, feedback and a report.

One bad file must never cost the rest of the class their grades, so every problem becomes a row
of errors.csv (file, field, problem, fix) and grading goes on:

* a file that cannot be read, parsed, or names an unknown bank is not graded;
* an answer of the wrong type, or an answer to a question that is not on the learner's test, is
  listed and scored 0 while the rest of that submission is graded.

A submission names a bank id (`ch02`) to be graded against every question of that bank, or an
exam id (the `exam.id` of objectives.yml, e.g. `ml-professional`, optionally with a suffix such as
`ml-professional-s42-f1`) to be graded against the questions listed in its `questions:` field, or
failing that the questions it answers. Each question is worth one point.
"""
from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Iterable

from lakeprep.errors import LakeprepError
from lakeprep.quiz import scoring
from lakeprep.quiz.bank import ID_PATTERN, BankSet
from lakeprep.quiz.catalog import Catalog
from lakeprep.quiz.item_analysis import ItemStats, item_statistics
from lakeprep.quiz.model import Question
from lakeprep.quiz.paths import safe_slug
from lakeprep.quiz.revision import section_percents
from lakeprep.quiz.submissions import Problem, Submission, read_submission

MAX_ROWS_PER_FILE = 20


@dataclass
class Graded:
    submission: Submission
    test_id: str
    title: str
    items: list[tuple[Question, float, Any]]  # question, points, normalised response
    pass_threshold: float
    sections: dict[str, tuple[float, int]] = field(default_factory=dict)
    unreadable: dict[str, str] = field(default_factory=dict)  # question id -> why the answer was not read

    @cached_property
    def points(self) -> float:
        return sum(p for _, p, _ in self.items)

    @property
    def max(self) -> int:
        return len(self.items)

    @property
    def fraction(self) -> float:
        return self.points / self.max if self.max else 0.0

    @property
    def passed(self) -> bool:
        return self.max > 0 and self.fraction >= self.pass_threshold - 1e-12


@dataclass
class Test:
    """What a submission is graded against: a bank, or one learner's exam form."""

    id: str
    title: str
    questions: list[Question]


@dataclass
class GradeRun:
    graded: list[Graded] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    stats: dict[str, dict[str, ItemStats]] = field(default_factory=dict)  # test id -> question id -> stats
    questions: dict[str, Question] = field(default_factory=dict)


def is_exam_id(test_id: str, catalog: Catalog) -> bool:
    """`ml-professional` or `ml-professional-<suffix>`, short and made of id characters."""
    if len(test_id) > 64 or not ID_PATTERN.match(test_id):
        return False
    return test_id == catalog.exam_id or test_id.startswith(catalog.exam_id + "-")


def _resolve_test(sub: Submission, banks: BankSet, by_id: dict[str, Question], catalog: Catalog,
                  problems: list[Problem]) -> Test | None:
    bank = banks.bank(sub.bank)
    if bank is not None:
        return Test(bank.id, bank.title, list(bank.questions))
    if not is_exam_id(sub.bank, catalog):
        valid = ", ".join(b.id for b in banks.banks[:12]) + (" ..." if len(banks.banks) > 12 else "")
        problems.append(Problem(sub.file, "bank", f"unknown bank {sub.bank[:80]!r}; not graded",
                                f"set `bank:` to one of: {valid or '(no banks loaded)'} or the exam id {catalog.exam_id}"))
        return None
    ids = sub.questions if sub.questions is not None else list(sub.answers)
    chosen, seen, missing = [], set(), 0
    for qid in ids:
        if qid in seen:
            continue
        seen.add(qid)
        if qid in by_id:
            chosen.append(by_id[qid])
        elif sub.questions is not None:
            missing += 1
            if missing <= MAX_ROWS_PER_FILE:
                problems.append(Problem(sub.file, "questions", f"unknown question id {qid[:80]!r}; left out of the "
                                        "exam", "check the id against the banks (`lakeprep bank validate`)"))
    if not chosen:
        problems.append(Problem(sub.file, "answers", "no known question ids in this exam submission; not graded",
                                "answer questions by their ids, or list them under `questions:`"))
        return None
    return Test(sub.bank, f"Mock exam {sub.bank}", chosen)


def grade_submission(sub: Submission, test: Test, catalog: Catalog, pass_threshold: float,
                     problems: list[Problem]) -> Graded:
    on_test = {q.id for q in test.questions}
    unknown = [qid for qid in sub.answers if qid not in on_test]
    for qid in unknown[:MAX_ROWS_PER_FILE]:
        problems.append(Problem(sub.file, f"answers.{qid[:80]}",
                                f"{qid[:80]!r} is not a question of {test.id}; ignored (the rest was graded)",
                                f"remove it, or check the id against {test.id}"))
    if len(unknown) > MAX_ROWS_PER_FILE:  # a flood of junk ids must not flood errors.csv
        problems.append(Problem(sub.file, "answers", f"{len(unknown) - MAX_ROWS_PER_FILE} more unknown question "
                                "ids; ignored", f"answer only the questions of {test.id}"))
    items = []
    unreadable = {}
    for question in test.questions:
        try:
            response = scoring.normalize(question, sub.answers.get(question.id))
        except scoring.AnswerTypeError as exc:
            problems.append(Problem(sub.file, f"answers.{question.id}",
                                    f"{exc.problem}; scored 0 (the rest was graded)", exc.fix))
            response = scoring.BLANK
            unreadable[question.id] = exc.problem
        items.append((question, scoring.score(question, response), response))
    graded = Graded(sub, test.id, test.title, items, pass_threshold, unreadable=unreadable)
    graded.sections = section_percents([(q, p) for q, p, _ in items], catalog)
    return graded


def submission_files(directory: Path, exclude: Path | None = None) -> list[tuple[Path, str]]:
    """Every visible regular file in the folder (and its subfolders), with a display name.

    Symbolic links are skipped (a link to /etc/passwd is not a submission), and so is `exclude`,
    the output folder, in case an instructor writes the results inside the submissions folder.
    """
    if not directory.is_dir():
        raise LakeprepError(f"{directory} is not a folder of submissions: pass the folder that holds them")
    skip = exclude.resolve() if exclude is not None else None
    found = []
    for root, dirs, files in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and (Path(root) / d).resolve() != skip)
        for name in sorted(files):
            if name.startswith("."):
                continue
            path = Path(root) / name
            if path.is_symlink() or not path.is_file():
                continue
            found.append((path, str(path.relative_to(directory))))
    return found


def grade_files(files: Iterable[tuple[Path, str]], banks: BankSet, catalog: Catalog,
                pass_threshold: float) -> GradeRun:
    """Grade every file; a file's problems land in `run.problems` and never stop the batch."""
    run = GradeRun()
    by_id = banks.by_id()
    seen: dict[tuple[str, str], str] = {}
    for path, name in files:
        try:
            sub, problems = read_submission(path, name)
        except Exception as exc:  # last line of defence: one hostile file must not stop the batch
            sub, problems = None, [Problem(name, "", f"unexpected error reading the file ({type(exc).__name__})",
                                           "check the file by hand")]
        run.problems.extend(problems)
        if sub is None:
            continue
        key = (sub.learner, sub.bank)
        if key in seen:
            run.problems.append(Problem(name, "learner", f"second submission by {sub.learner!r} for {sub.bank[:80]}; "
                                        f"not graded ({seen[key]} was)", "remove one of the two files"))
            continue
        test = _resolve_test(sub, banks, by_id, catalog, run.problems)
        if test is None:
            continue
        seen[key] = name
        run.graded.append(grade_submission(sub, test, catalog, pass_threshold, run.problems))
    _analyse(run, banks)
    return run


def _analyse(run: GradeRun, banks: BankSet) -> None:
    """Item statistics per test (bank or exam id), with choice counts per option."""
    by_test: dict[str, list[Graded]] = {}
    for g in run.graded:
        by_test.setdefault(g.test_id, []).append(g)
    for test_id, group in by_test.items():
        bank = banks.bank(test_id)
        order = [q.id for q in bank.questions] if bank else None
        stats = item_statistics(({q.id: p for q, p, _ in g.items} for g in group), order)
        for g in group:
            for question, _, response in g.items:
                run.questions.setdefault(question.id, question)
                counts = stats[question.id].choices
                if not counts:
                    counts.update({label: 0 for label in scoring.choice_labels(question)})
                    counts["blank"] = 0
                for label in scoring.choices(question, response):
                    counts[label] = counts.get(label, 0) + 1
        run.stats[test_id] = stats


# ---------------------------------------------------------------- output files

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> Any:
    """Neutralise spreadsheet formulas in text that came from learners (CSV injection)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def fmt(number: float | None, digits: int = 1) -> str:
    if number is None:
        return ""
    text = f"{number:.{digits}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def write_gradebook(run: GradeRun, path: Path, catalog: Catalog) -> None:
    sections = list(catalog.section_titles)
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(["learner", "bank", "score", "max", "percent", "passed"] + [f"{s}_percent" for s in sections])
        for g in sorted(run.graded, key=lambda g: (g.test_id, g.submission.learner)):
            row = [cell(g.submission.learner), cell(g.test_id), fmt(g.points, 3), g.max, fmt(100 * g.fraction, 1),
                   "yes" if g.passed else "no"]
            for s in sections:
                points, count = g.sections.get(s, (0.0, 0))
                row.append(fmt(100.0 * points / count, 1) if count else "")
            out.writerow(row)


def write_item_analysis(run: GradeRun, path: Path) -> None:
    labels: list[str] = []
    for stats in run.stats.values():
        for item in stats.values():
            for label in item.choices:
                if label != "blank" and label not in labels:
                    labels.append(label)
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(["bank", "question_id", "type", "n", "facility_index", "discrimination_index", "blank",
                      "choices"] + [f"count_{label}" for label in labels])
        for test_id, stats in run.stats.items():
            for item in stats.values():
                question = run.questions[item.question_id]
                choices = " ".join(f"{k}={v}" for k, v in item.choices.items() if k != "blank")
                out.writerow([cell(test_id), item.question_id, question.type, item.n, fmt(item.facility, 1),
                              fmt(item.discrimination, 1), item.choices.get("blank", 0), choices]
                             + [item.choices.get(label, "") for label in labels])


def write_errors(problems: list[Problem], path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(["file", "field", "problem", "fix"])
        for p in problems:
            out.writerow([cell(p.file), cell(p.field), cell(p.problem), cell(p.fix)])


def feedback_name(g: Graded) -> str:
    return f"{safe_slug(g.submission.learner)}--{safe_slug(g.test_id)}.md"


def write_outputs(run: GradeRun, out_dir: Path, catalog: Catalog) -> dict[str, Path]:
    from lakeprep.quiz.feedback import learner_feedback
    from lakeprep.quiz.report import html_report

    out_dir.mkdir(parents=True, exist_ok=True)
    feedback_dir = out_dir / "feedback"
    feedback_dir.mkdir(exist_ok=True)
    written = {
        "gradebook": out_dir / "gradebook.csv",
        "item_analysis": out_dir / "item_analysis.csv",
        "errors": out_dir / "errors.csv",
        "report": out_dir / "report.html",
        "feedback": feedback_dir,
    }
    write_gradebook(run, written["gradebook"], catalog)
    write_item_analysis(run, written["item_analysis"])
    write_errors(run.problems, written["errors"])
    cache: dict = {}  # per-question Markdown shared by every learner who missed it
    for g in run.graded:
        target = feedback_dir / feedback_name(g)
        if target.parent != feedback_dir:  # safe_slug cannot climb out; keep it that way
            raise LakeprepError(f"refusing to write feedback outside {feedback_dir}: {target}")
        target.write_text(learner_feedback(g, catalog, cache), encoding="utf-8")
    written["report"].write_text(html_report(run, catalog), encoding="utf-8")
    return written
