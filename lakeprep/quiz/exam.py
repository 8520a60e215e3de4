"""The timed mock exam: weighted draw, no feedback until the end, resumable after every answer.

The state (drawn question ids, answers, time used) is written atomically to a JSON file after
every answer, so a closed terminal, a crash or a `q` loses nothing: `lakeprep quiz exam --resume`
carries on. The clock counts only time spent in the exam (it pauses while the exam is saved),
which matters for a learner who has to stop for the day. At the end the learner gets the score,
per-section scores, pass/fail against the community-reported threshold, the answers they missed
with explanations, a revision map, and a submission file an instructor can grade.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from lakeprep.errors import LakeprepError
from lakeprep.quiz import scoring, yamlsafe
from lakeprep.quiz.catalog import Catalog
from lakeprep.quiz.console import Console, Quit, describe_response, prompt_for, read_answer, render
from lakeprep.quiz.model import Question
from lakeprep.quiz.paths import safe_slug
from lakeprep.quiz.revision import pts, revision_map, section_percents

STATE_FILE = "exam-in-progress.json"


@dataclass
class ExamState:
    exam_id: str
    learner: str
    question_ids: list[str]
    minutes: float
    pass_threshold: float
    seed: int | None
    form: int
    started: str
    answers: dict[str, Any] = field(default_factory=dict)  # id -> typed response (JSON-able)
    elapsed: float = 0.0  # seconds spent in the exam so far
    position: int = 0  # index of the next question to show

    def save(self, path: Path) -> None:
        """Write atomically (temp file + rename) so a crash mid-write never corrupts the exam."""
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=1), encoding="utf-8")
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path) -> "ExamState":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(**data)
        except FileNotFoundError:
            raise LakeprepError("there is no exam to resume: start one with `lakeprep quiz exam`") from None
        except (ValueError, TypeError) as exc:
            raise LakeprepError(f"the saved exam {path} is damaged ({exc}): delete it and start a new exam") from None


def _to_json(question: Question, response: Any) -> Any:
    if response is scoring.BLANK:
        return None
    if question.type == "multiple":
        return sorted(response)
    return response


def _clock(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def run_exam(console: Console, state: ExamState, questions: dict[str, Question], state_path: Path,
             clock: Callable[[], float] = time.monotonic) -> bool:
    """Ask the remaining questions; return True when the exam is over (finished or out of time)."""
    limit = state.minutes * 60.0
    base = state.elapsed
    started = clock()
    total = len(state.question_ids)

    def used() -> float:
        return base + (clock() - started)

    try:
        while state.position < total:
            if used() >= limit:
                console.say("\nTime is up.")
                state.elapsed = used()
                state.save(state_path)
                return True
            qid = state.question_ids[state.position]
            question = questions[qid]
            console.say(render(question, state.position + 1, total, header=f"time left {_clock(limit - used())}"))
            response = _ask_exam_answer(console, question)
            if used() > limit:
                console.say("Time ran out before that answer; it was not recorded.")
                state.elapsed = used()
                state.save(state_path)
                return True
            state.answers[qid] = _to_json(question, response)
            state.position += 1
            state.elapsed = used()
            state.save(state_path)
    except Quit:
        state.elapsed = used()
        state.save(state_path)
        console.say(f"Exam saved after {state.position} of {total} answers with {_clock(limit - state.elapsed)} left. "
                    "Resume with `lakeprep quiz exam --resume`.")
        return False
    return True


def _ask_exam_answer(console: Console, question: Question) -> Any:
    """An answer, or BLANK after a reminder: a blank scores zero, a guess may score."""
    response = read_answer(console, question, prompt_for(question))
    if response is scoring.BLANK:
        console.say("  Answer every item: wrong answers cost nothing. Press Enter again to leave it blank.")
        response = read_answer(console, question, prompt_for(question))
    return response


@dataclass
class ExamResult:
    results: list[tuple[Question, float, Any]]
    points: float
    total: int
    passed: bool
    sections: dict[str, tuple[float, int]]


def score_exam(state: ExamState, questions: dict[str, Question], catalog: Catalog) -> ExamResult:
    results = []
    for qid in state.question_ids:
        question = questions[qid]
        try:
            response = scoring.normalize(question, state.answers.get(qid))
        except scoring.AnswerTypeError:
            response = scoring.BLANK
        results.append((question, scoring.score(question, response), response))
    points = sum(p for _, p, _ in results)
    total = len(results)
    return ExamResult(
        results=results, points=points, total=total,
        passed=total > 0 and points / total >= state.pass_threshold - 1e-12,
        sections=section_percents([(q, p) for q, p, _ in results], catalog),
    )


def report_exam(console: Console, state: ExamState, result: ExamResult, catalog: Catalog) -> None:
    pct = 100.0 * result.points / result.total if result.total else 0.0
    blank = sum(1 for q, _, r in result.results if r is scoring.BLANK)
    console.say("\n" + "=" * 60)
    console.say(f"Score: {pts(result.points)}/{result.total} ({pct:.1f}%) in {_clock(state.elapsed)}")
    for section, (points, count) in result.sections.items():
        if count:
            title = catalog.section_titles.get(section, section)
            console.say(f"  {section:<4} {title:<22} {pts(points)}/{count} ({100.0 * points / count:.0f}%)")
    verdict = "PASS" if result.passed else "FAIL"
    console.say(f"{verdict} against a pass threshold of {state.pass_threshold:.0%} "
                f"({catalog.pass_threshold_note}).")
    if blank:
        console.say(f"{blank} item(s) left blank: on the real exam, answer every item (wrong answers cost nothing).")
    missed = [(q, p, r) for q, p, r in result.results if p < 1.0]
    if missed:
        console.say("\nWhat you missed:")
        for question, _, response in missed:
            console.say(f"- {question.id}: you answered {describe_response(question, response)}; "
                        f"answer {question.answer_text()}")
            console.say(f"  Why: {question.explanation}")
    entries = revision_map([(q, p) for q, p, _ in result.results], catalog)
    if entries:
        console.say("\nRevision map (book sections by points lost):")
        for rank, entry in enumerate(entries, 1):
            console.say(f"  {rank}. {entry.line}")


def archive_exam(state: ExamState, result: ExamResult, state_dir: Path) -> Path:
    """Keep the finished exam and write a submission file `lakeprep grade quizzes` can grade."""
    history = state_dir / "exams"
    history.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    name = f"{stamp}-{safe_slug(state.learner)}"
    (history / f"{name}.json").write_text(json.dumps({
        **asdict(state), "points": result.points, "total": result.total, "passed": result.passed,
    }, indent=1), encoding="utf-8")
    submission = {
        "learner": state.learner,
        "bank": state.exam_id,
        "questions": list(state.question_ids),
        "answers": {qid: state.answers.get(qid) for qid in state.question_ids},
    }
    path = history / f"{name}-submission.yml"
    path.write_text(yamlsafe.dump(submission), encoding="utf-8")
    return path


def exam_id_for(catalog: Catalog, seed: int | None, form: int) -> str:
    """`ml-professional-s42-f1`: the exam id a submission names; grading accepts any `<exam id>-...`."""
    return f"{catalog.exam_id}-s{seed}-f{form}" if seed is not None else f"{catalog.exam_id}-f{form}"
