"""The mock exam engine: timer, saving after every answer, scoring and the pass mark."""
from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from lakeprep.quiz.bank import load_bank_dir
from lakeprep.quiz.catalog import load_catalog
from lakeprep.quiz.console import Console
from lakeprep.quiz.exam import ExamState, report_exam, run_exam, score_exam

ROOT = Path(__file__).resolve().parents[2]
BANKS = ROOT / "tests" / "fixtures" / "quiz" / "banks"


@pytest.fixture(scope="module")
def setup():
    catalog = load_catalog(BANKS)
    return catalog, load_bank_dir(BANKS, catalog).by_id()


def _state(ids, minutes=1.0, threshold=0.7) -> ExamState:
    return ExamState(exam_id="ml-professional-test", learner="t", question_ids=list(ids), minutes=minutes,
                     pass_threshold=threshold, seed=1, form=1, started="2026-01-01T00:00:00")


class FakeClock:
    """Advances `step` seconds each time the exam looks at the clock."""

    def __init__(self, step: float):
        self.now, self.step = 0.0, step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


IDS = ["pool-md11-01", "pool-ops21-01", "pool-dep11-01", "pool-md41-01"]


def test_answers_are_saved_after_each_one(tmp_path, setup):
    _, questions = setup
    path = tmp_path / "exam.json"
    state = _state(IDS)
    finished = run_exam(Console(io.StringIO("a\nb\n"), io.StringIO(), echo=False), state, questions, path,
                        clock=FakeClock(0.01))
    assert finished is False  # input ended: saved, not finished
    saved = json.loads(path.read_text())
    assert saved["answers"] == {"pool-md11-01": "a", "pool-ops21-01": "b"} and saved["position"] == 2
    resumed = ExamState.load(path)
    finished = run_exam(Console(io.StringIO("c\na\n"), io.StringIO(), echo=False), resumed, questions, path,
                        clock=FakeClock(0.01))
    assert finished is True and resumed.position == 4
    assert resumed.elapsed > saved["elapsed"]  # time carries over across the pause


def test_time_runs_out(tmp_path, setup):
    _, questions = setup
    out = io.StringIO()
    # 60 s; each clock read advances 25 s: start 25; check 50 (25 s used, go on); header 75 (10 s left);
    # after the answer 100 (75 s used > 60): the late answer is not recorded
    state = _state(IDS, minutes=1.0)
    finished = run_exam(Console(io.StringIO("a\na\na\na\n"), out, echo=False), state, questions,
                        tmp_path / "exam.json", clock=FakeClock(25.0))
    assert finished is True
    assert "Time ran out before that answer; it was not recorded." in out.getvalue()
    assert state.answers == {} and state.position == 0
    assert "time left 0:00:10" in out.getvalue()


def test_pass_mark_boundary_and_report(setup):
    catalog, questions = setup
    ten = [q for q in questions if q.startswith("pool-")][:10]
    state = _state(ten, threshold=0.7)
    right = {qid: questions[qid].answer for qid in ten}
    wrong_key = {"a": "b", "b": "c", "c": "a"}
    state.answers = {qid: (right[qid] if i < 7 else wrong_key[right[qid]]) for i, qid in enumerate(ten)}
    result = score_exam(state, questions, catalog)
    assert (result.points, result.total, result.passed) == (7.0, 10, True)  # exactly 70% passes
    state.answers[ten[0]] = None
    result = score_exam(state, questions, catalog)
    assert (result.points, result.passed) == (6.0, False)
    out = io.StringIO()
    report_exam(Console(io.StringIO(), out, echo=False), state, result, catalog)
    text = out.getvalue()
    assert "Score: 6/10 (60.0%)" in text and "FAIL against a pass threshold of 70%" in text
    assert "community-reported" in text
    assert "1 item(s) left blank: on the real exam, answer every item (wrong answers cost nothing)." in text
    assert f"- {ten[0]}: you answered (blank)" in text


def test_damaged_state_file_is_a_clear_error(tmp_path):
    from lakeprep.errors import LakeprepError

    path = tmp_path / "exam.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(LakeprepError, match="damaged"):
        ExamState.load(path)
    with pytest.raises(LakeprepError, match="no exam to resume"):
        ExamState.load(tmp_path / "missing.json")
