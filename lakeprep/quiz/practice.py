"""Chapter and objective practice: one question at a time with immediate feedback.

Practice is for learning, not measuring, so every answer is followed by right/wrong, the reason
each chosen wrong option is wrong, the explanation and the book section to reread; the summary
ranks sections by points lost, and missed questions go to the spaced-review queue.
"""
from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from lakeprep.errors import LakeprepError
from lakeprep.quiz import scoring
from lakeprep.quiz.bank import BankSet
from lakeprep.quiz.catalog import Catalog
from lakeprep.quiz.console import Console, Quit, feedback_text, read_answer, render
from lakeprep.quiz.model import Question
from lakeprep.quiz.revision import pts, revision_map


@dataclass
class PracticeResult:
    results: list[tuple[Question, float]] = field(default_factory=list)
    quit_early: bool = False

    @property
    def points(self) -> float:
        return sum(p for _, p in self.results)

    @property
    def missed(self) -> list[str]:
        return [q.id for q, p in self.results if p < 1.0]


def select_questions(banks: BankSet, catalog: Catalog, chapter: int | None = None,
                     objective: str | None = None) -> list[Question]:
    """Questions of one chapter's banks, or every question tagged with one objective, or all."""
    if chapter is not None:
        chosen = [q for b in banks.banks if b.chapter == chapter for q in b.questions]
        if not chosen:
            have = sorted({b.chapter for b in banks.banks if b.chapter is not None})
            raise LakeprepError(f"no questions for chapter {chapter}; chapters with questions: "
                                f"{', '.join(map(str, have)) or 'none yet'}")
        return chosen
    if objective is not None:
        if objective not in catalog.objectives:
            close = [o for o in catalog.objectives if o.lower().startswith(objective.lower())]
            hint = f" (objectives starting so: {', '.join(close[:8])})" if close else ""
            raise LakeprepError(f"unknown objective {objective!r}{hint}: use an id from quizzes/objectives.yml")
        chosen = [q for q in banks.questions if objective in q.objectives]
        if not chosen:
            raise LakeprepError(f"no questions are tagged {objective} yet: try `--chapter N` instead")
        return chosen
    chosen = banks.questions
    if not chosen:
        raise LakeprepError("no valid questions found: run `lakeprep bank validate` to see why")
    return chosen


def run_practice(console: Console, questions: list[Question], catalog: Catalog) -> PracticeResult:
    result = PracticeResult()
    total = len(questions)
    console.say(f"{total} questions. Type q to stop; you get feedback after each answer.")
    try:
        for number, question in enumerate(questions, 1):
            console.say(render(question, number, total))
            response = read_answer(console, question)
            points = scoring.score(question, response)
            result.results.append((question, points))
            console.say(feedback_text(question, response, points, catalog))
    except Quit:
        result.quit_early = True
        console.say("Stopped early.")
    return result


def summarize(console: Console, result: PracticeResult, catalog: Catalog) -> None:
    answered = len(result.results)
    if not answered:
        console.say("No questions answered.")
        return
    percent = 100.0 * result.points / answered
    console.say(f"\nScore: {pts(result.points)}/{answered} ({percent:.0f}%)")
    entries = revision_map(result.results, catalog)
    if entries:
        console.say("Sections to revisit (most points lost first):")
        for entry in entries:
            console.say(f"  - {entry.line}")
    else:
        console.say("Nothing to revisit: every answer was right.")


def practice(console: Console, banks: BankSet, catalog: Catalog, chapter: int | None, objective: str | None,
             seed: int | None, shuffle: bool, limit: int | None, store=None, today: dt.date | None = None) -> int:
    questions = select_questions(banks, catalog, chapter, objective)
    if shuffle:
        questions = list(questions)
        random.Random(seed).shuffle(questions)
    if limit:
        questions = questions[:limit]
    if banks.issues:
        console.say(f"Note: {len(banks.issues)} problem(s) in the banks; broken questions are left out "
                    "(`lakeprep bank validate` lists them).")
    result = run_practice(console, questions, catalog)
    summarize(console, result, catalog)
    if store is not None and result.missed:
        store.enqueue(result.missed, today or dt.date.today(), source="practice")
        console.say(f"{len(result.missed)} missed question(s) added to `lakeprep quiz review`.")
    return 0
