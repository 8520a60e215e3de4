"""Spaced repetition of missed questions with SM-2, kept in a local SQLite file.

Questions a learner misses in practice or a mock exam are enqueued here; `lakeprep quiz review`
shows the ones due today and reschedules each by the SM-2 rule (Wozniak, 1990): a recall graded
3-5 pushes the next review out (1 day, 6 days, then interval x ease), a grade below 3 starts the
item over, and the ease factor moves with every grade but never below 1.3. SQLite (standard
library) keeps the queue safe across interrupted sessions without a server.
"""
from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from lakeprep.quiz import scoring
from lakeprep.quiz.console import Console, Quit, feedback_text, read_answer, render

DB_NAME = "review.sqlite3"
MIN_EASE = 1.3
START_EASE = 2.5

_SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    question_id   TEXT PRIMARY KEY,
    ease          REAL    NOT NULL DEFAULT 2.5,
    interval_days INTEGER NOT NULL DEFAULT 0,
    repetitions   INTEGER NOT NULL DEFAULT 0,
    lapses        INTEGER NOT NULL DEFAULT 0,
    due           TEXT    NOT NULL,
    last_grade    INTEGER,
    last_reviewed TEXT,
    added         TEXT    NOT NULL,
    source        TEXT
)
"""


@dataclass(frozen=True)
class Card:
    """The SM-2 state of one question."""

    ease: float = START_EASE
    interval: int = 0
    repetitions: int = 0


def sm2(card: Card, grade: int) -> Card:
    """One SM-2 step: the card after a recall graded 0 (blackout) .. 5 (perfect)."""
    if not 0 <= grade <= 5:
        raise ValueError(f"an SM-2 grade is 0..5, got {grade}")
    if grade >= 3:
        if card.repetitions == 0:
            interval = 1
        elif card.repetitions == 1:
            interval = 6
        else:
            interval = int(card.interval * card.ease + 0.5)  # round half up, with the old ease
        repetitions = card.repetitions + 1
    else:
        interval, repetitions = 1, 0
    ease = card.ease + (0.1 - (5 - grade) * (0.08 + (5 - grade) * 0.02))
    return Card(ease=round(max(MIN_EASE, ease), 4), interval=interval, repetitions=repetitions)


@dataclass(frozen=True)
class Item:
    question_id: str
    card: Card
    due: dt.date
    lapses: int
    last_grade: int | None


class ReviewStore:
    """The review queue in `<state dir>/review.sqlite3`."""

    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(str(path))
        self.db.execute(_SCHEMA)
        self.db.commit()

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> "ReviewStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def enqueue(self, question_ids: Iterable[str], today: dt.date, source: str = "") -> int:
        """Queue missed questions for review today; a question already queued starts over."""
        count = 0
        for qid in question_ids:
            count += 1
            self.db.execute(
                """INSERT INTO items (question_id, due, added, source) VALUES (?, ?, ?, ?)
                   ON CONFLICT(question_id) DO UPDATE SET
                       repetitions = 0, interval_days = 0, due = excluded.due,
                       lapses = lapses + 1, source = excluded.source""",
                (qid, today.isoformat(), today.isoformat(), source),
            )
        self.db.commit()
        return count

    def _item(self, row) -> Item:
        return Item(row[0], Card(row[1], row[2], row[3]), dt.date.fromisoformat(row[5]), row[4], row[6])

    def items(self) -> list[Item]:
        rows = self.db.execute(
            "SELECT question_id, ease, interval_days, repetitions, lapses, due, last_grade FROM items "
            "ORDER BY due, question_id").fetchall()
        return [self._item(r) for r in rows]

    def due(self, today: dt.date) -> list[Item]:
        return [item for item in self.items() if item.due <= today]

    def get(self, question_id: str) -> Item | None:
        row = self.db.execute(
            "SELECT question_id, ease, interval_days, repetitions, lapses, due, last_grade FROM items "
            "WHERE question_id = ?", (question_id,)).fetchone()
        return self._item(row) if row else None

    def record(self, question_id: str, grade: int, today: dt.date) -> Item:
        """Apply one graded recall and reschedule the question."""
        item = self.get(question_id)
        card = sm2(item.card if item else Card(), grade)
        due = today + dt.timedelta(days=card.interval)
        self.db.execute(
            """INSERT INTO items (question_id, ease, interval_days, repetitions, due, last_grade,
                                  last_reviewed, added, lapses)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT(question_id) DO UPDATE SET ease = excluded.ease,
                   interval_days = excluded.interval_days, repetitions = excluded.repetitions,
                   due = excluded.due, last_grade = excluded.last_grade,
                   last_reviewed = excluded.last_reviewed,
                   lapses = lapses + (CASE WHEN excluded.last_grade < 3 THEN 1 ELSE 0 END)""",
            (question_id, card.ease, card.interval, card.repetitions, due.isoformat(), grade,
             today.isoformat(), today.isoformat(), 1 if grade < 3 else 0),
        )
        self.db.commit()
        return self.get(question_id)


def open_store(state_dir: Path) -> ReviewStore:
    return ReviewStore(state_dir / DB_NAME)


def grade_for(points: float) -> int | None:
    """The SM-2 grade implied by the answer: wrong 1, partly right 2, right: ask the learner."""
    if points <= 0:
        return 1
    if points < 1:
        return 2
    return None


def _ask_grade(console: Console) -> int:
    while True:
        text = console.ask("How well did you recall it? 3 hard, 4 good, 5 easy [4]: ").strip()
        if not text:
            return 4
        if text in ("3", "4", "5"):
            return int(text)
        console.say("  Type 3, 4 or 5 (or press Enter for 4).")


def run_review(console: Console, store: ReviewStore, questions: dict, today: dt.date, catalog=None,
               limit: int | None = None) -> dict:
    """Review the due questions; items graded below 4 come back at the end (SM-2 step 7)."""
    queued = store.items()
    due = [item for item in queued if item.due <= today]
    known = [item for item in due if item.question_id in questions]
    gone = [item.question_id for item in due if item.question_id not in questions]
    console.say(f"{len(due)} of {len(queued)} queued questions are due today ({today.isoformat()}).")
    if gone:
        console.say(f"Skipping {len(gone)} no longer in the banks: {', '.join(gone[:5])}"
                    + (" ..." if len(gone) > 5 else ""))
    if limit is not None:
        known = known[:limit]
    if not known:
        upcoming = next((item for item in queued if item.due > today), None)
        if upcoming is not None:
            console.say(f"Nothing to review now; next due {upcoming.due.isoformat()}.")
        else:
            console.say("Nothing to review. Missed questions from `quiz practice` and `quiz exam` land here.")
        return {"reviewed": 0, "again": 0}
    reviewed, again = 0, []
    try:
        for number, item in enumerate(known, 1):
            question = questions[item.question_id]
            console.say(render(question, number, len(known), header="review"))
            response = read_answer(console, question)
            points = scoring.score(question, response)
            console.say(feedback_text(question, response, points, catalog))
            grade = grade_for(points)
            if grade is None:
                grade = _ask_grade(console)
            updated = store.record(question.id, grade, today)
            reviewed += 1
            console.say(f"Next review in {updated.card.interval} day(s), on {updated.due.isoformat()} "
                        f"(ease {updated.card.ease:.2f}).")
            if grade < 4:
                again.append(question)
        while again:  # drill without touching the schedule until each is recalled well
            console.say(f"\nOnce more, {len(again)} question(s) you found hard (the schedule is already set).")
            still = []
            for question in again:
                console.say(render(question, header="again"))
                response = read_answer(console, question)
                points = scoring.score(question, response)
                console.say(feedback_text(question, response, points, catalog))
                grade = grade_for(points) or _ask_grade(console)
                if grade < 4:
                    still.append(question)
            again = still
    except Quit:
        console.say("Review stopped; what you graded is saved.")
    return {"reviewed": reviewed, "again": len(again)}


def list_queue(console: Console, store: ReviewStore, today: dt.date) -> None:
    items = store.items()
    if not items:
        console.say("The review queue is empty.")
        return
    console.say(f"{'question':<28} {'due':<10} {'interval':>8} {'ease':>5} {'reps':>4} {'lapses':>6}")
    for item in items:
        mark = " *" if item.due <= today else ""
        console.say(f"{item.question_id:<28} {item.due.isoformat():<10} {item.card.interval:>8} "
                    f"{item.card.ease:>5.2f} {item.card.repetitions:>4} {item.lapses:>6}{mark}")
    console.say("* due today")
