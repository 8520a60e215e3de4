"""SM-2 scheduling and the SQLite review queue."""
from __future__ import annotations

import datetime as dt
import io

import pytest

from lakeprep.quiz.console import Console
from lakeprep.quiz.model import Question
from lakeprep.quiz.review import Card, ReviewStore, run_review, sm2

DAY = dt.date(2026, 3, 2)


def test_sm2_sequence_by_hand():
    card = Card()
    card = sm2(card, 4)  # first success: 1 day; ease + 0.1 - 1*(0.08 + 0.02) = unchanged
    assert (card.interval, card.repetitions, card.ease) == (1, 1, 2.5)
    card = sm2(card, 4)  # second success: 6 days
    assert (card.interval, card.repetitions, card.ease) == (6, 2, 2.5)
    card = sm2(card, 4)  # then interval x ease: 6 x 2.5 = 15
    assert (card.interval, card.repetitions) == (15, 3)
    card = sm2(card, 5)  # 15 x 2.5 = 37.5 -> 38 (half up, old ease); ease 2.5 + 0.1 = 2.6
    assert (card.interval, card.ease) == (38, 2.6)
    card = sm2(card, 3)  # 38 x 2.6 = 98.8 -> 99; ease 2.6 + 0.1 - 2*(0.08 + 0.04) = 2.46
    assert (card.interval, card.ease) == (99, pytest.approx(2.46))
    card = sm2(card, 1)  # a lapse: start over; ease 2.46 - 0.54 = 1.92
    assert (card.interval, card.repetitions, card.ease) == (1, 0, pytest.approx(1.92))


def test_sm2_ease_floor_and_grade_range():
    card = Card()
    for _ in range(10):
        card = sm2(card, 0)
    assert card.ease == 1.3 and card.interval == 1 and card.repetitions == 0
    with pytest.raises(ValueError):
        sm2(card, 6)


def test_store_enqueue_record_and_due(tmp_path):
    with ReviewStore(tmp_path / "r.sqlite3") as store:
        assert store.enqueue(["q1", "q2"], DAY, source="practice") == 2
        assert [i.question_id for i in store.due(DAY)] == ["q1", "q2"]
        item = store.record("q1", 5, DAY)
        assert item.due == DAY + dt.timedelta(days=1) and item.card.ease == 2.6
        assert [i.question_id for i in store.due(DAY)] == ["q2"]
        store.record("q1", 4, DAY + dt.timedelta(days=1))
        assert store.get("q1").due == DAY + dt.timedelta(days=7)
        store.enqueue(["q1"], DAY + dt.timedelta(days=2))  # missed again: due now, starts over
        again = store.get("q1")
        assert again.due == DAY + dt.timedelta(days=2) and again.card.repetitions == 0 and again.lapses == 1
        assert again.card.ease == 2.6  # a miss in an exam does not change the ease by itself
    with ReviewStore(tmp_path / "r.sqlite3") as reopened:  # persisted
        assert {i.question_id for i in reopened.items()} == {"q1", "q2"}


def _question(qid: str, answer: str) -> Question:
    return Question(id=qid, type="single", stem=f"stem {qid}", answer=answer, explanation="e",
                    objectives=("MD.1.1",), section="ch01-compute", difficulty="easy",
                    options={"a": "A", "b": "B"}, feedback={"a": "A is wrong", "b": "B is wrong"})


def test_review_session_grades_and_drills(tmp_path):
    questions = {"q1": _question("q1", "a"), "q2": _question("q2", "b")}
    with ReviewStore(tmp_path / "r.sqlite3") as store:
        store.enqueue(["q1", "q2", "gone"], DAY)
        # q1 right, graded 5; q2 wrong (auto grade 1) -> drilled again at the end, answered right, graded 4
        out = io.StringIO()
        console = Console(io.StringIO("a\n5\na\nb\n4\n"), out, echo=False)
        summary = run_review(console, store, questions, DAY)
        text = out.getvalue()
        assert summary == {"reviewed": 2, "again": 0}
        assert "3 of 3 queued questions are due today" in text and "Skipping 1 no longer in the banks: gone" in text
        assert store.get("q1").due == DAY + dt.timedelta(days=1) and store.get("q1").card.ease == 2.6
        q2 = store.get("q2")
        assert q2.due == DAY + dt.timedelta(days=1) and q2.last_grade == 1 and q2.card.ease == pytest.approx(1.96)
        assert "Once more, 1 question(s)" in text
