"""Scoring rules per question type, response parsing, and invariants checked with hypothesis."""
from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lakeprep.quiz import scoring
from lakeprep.quiz.model import NumericAnswer, Question
from lakeprep.quiz.scoring import AnswerTypeError, normalize, score_raw


def q(qtype: str, answer, options=None, scoring_rule="all-or-nothing", feedback=None) -> Question:
    return Question(id=f"t-{qtype}", type=qtype, stem="?", answer=answer, explanation="because",
                    objectives=("MD.1.1",), section="ch01-compute", difficulty="easy",
                    options=options or {}, feedback=feedback or {}, scoring=scoring_rule)


ABCD = {"a": "A", "b": "B", "c": "C", "d": "D"}


def test_single():
    question = q("single", "b", ABCD)
    assert score_raw(question, "b") == 1.0
    assert score_raw(question, "B") == 1.0  # keys are matched case-insensitively
    assert score_raw(question, "a") == 0.0
    assert score_raw(question, ["b"]) == 1.0
    assert score_raw(question, None) == 0.0 and score_raw(question, "  ") == 0.0
    with pytest.raises(AnswerTypeError, match="not an option"):
        score_raw(question, "e")
    with pytest.raises(AnswerTypeError, match="takes one answer"):
        score_raw(question, ["a", "b"])


def test_multiple_all_or_nothing():
    question = q("multiple", ("a", "c"), ABCD)
    assert score_raw(question, ["a", "c"]) == 1.0
    assert score_raw(question, ["c", "a", "a"]) == 1.0
    assert score_raw(question, ["a"]) == 0.0
    assert score_raw(question, ["a", "b", "c"]) == 0.0
    assert score_raw(question, "a,c") == 1.0 and score_raw(question, "a c") == 1.0 and score_raw(question, "ac") == 1.0
    with pytest.raises(AnswerTypeError, match="list of option keys"):
        score_raw(question, 7)


@pytest.mark.parametrize("chosen, expected", [
    (["a", "b", "d"], 1.0),          # 3 right of 3
    (["a", "b"], 2 / 3),             # 2 right
    (["a", "b", "c"], 1 / 3),        # (2 right - 1 wrong) / 3
    (["a", "c"], 0.0),               # (1 - 1) / 3
    (["c"], 0.0),                    # (0 - 1) / 3 floored at 0
    (["a", "b", "c", "d"], 2 / 3),   # (3 - 1) / 3
])
def test_multiple_partial(chosen, expected):
    question = q("multiple", ("a", "b", "d"), ABCD, scoring_rule="partial")
    assert score_raw(question, chosen) == pytest.approx(expected)


def test_truefalse():
    question = q("truefalse", False)
    assert score_raw(question, False) == 1.0
    assert score_raw(question, "f") == 1.0 and score_raw(question, "False") == 1.0 and score_raw(question, "no") == 1.0
    assert score_raw(question, True) == 0.0
    with pytest.raises(AnswerTypeError):
        score_raw(question, "maybe")


def test_numeric_tolerance():
    question = q("numeric", NumericAnswer(0.9, 0.01))
    assert score_raw(question, 0.9) == 1.0
    assert score_raw(question, 0.91) == 1.0  # on the edge: inside despite binary floats
    assert score_raw(question, 0.89) == 1.0
    assert score_raw(question, 0.911) == 0.0
    assert score_raw(question, "0.905") == 1.0 and score_raw(question, "0,905") == 1.0
    for bad in (True, "lots", float("nan"), [0.9]):
        with pytest.raises(AnswerTypeError):
            score_raw(question, bad)


def test_wrong_feedback_names_only_the_wrong_chosen_options():
    question = q("multiple", ("a", "c"), ABCD, feedback={"b": "B is wrong", "d": "D is wrong"})
    response = normalize(question, ["a", "b", "d"])
    assert scoring.wrong_feedback(question, response) == [("b", "B is wrong"), ("d", "D is wrong")]
    tf = q("truefalse", False, feedback={"true": "no, because"})
    assert scoring.wrong_feedback(tf, True) == [("true", "no, because")]
    assert scoring.wrong_feedback(tf, False) == []


# ----------------------------------------------------------------------------- properties

KEYS = list("abcdefgh")


@st.composite
def choice_question(draw):
    k = draw(st.integers(2, 6))
    keys = KEYS[:k]
    options = {key: f"option {key}" for key in keys}
    qtype = draw(st.sampled_from(["single", "multiple"]))
    if qtype == "single":
        answer = draw(st.sampled_from(keys))
        rule = "all-or-nothing"
    else:
        right = draw(st.lists(st.sampled_from(keys), min_size=1, max_size=k, unique=True))
        answer = tuple(key for key in keys if key in right)
        rule = draw(st.sampled_from(["all-or-nothing", "partial"]))
    question = q(qtype, answer, options, scoring_rule=rule)
    if qtype == "single":
        response = draw(st.one_of(st.none(), st.sampled_from(keys)))
    else:
        response = draw(st.lists(st.sampled_from(keys), max_size=k, unique=True))
    return question, response


@given(choice_question())
def test_score_is_between_zero_and_one(case):
    question, response = case
    assert 0.0 <= score_raw(question, response) <= 1.0


@given(st.lists(choice_question(), min_size=1, max_size=20))
def test_total_is_between_zero_and_max(cases):
    total = sum(score_raw(question, response) for question, response in cases)
    assert 0.0 <= total <= len(cases)


@given(choice_question(), st.randoms(use_true_random=False))
@settings(max_examples=200)
def test_reordering_and_renaming_options_keeps_the_score(case, rnd):
    """A consistent bijection of keys plus a new option order must not change any score."""
    question, response = case
    old = list(question.options)
    new_names = [f"k{i}" for i in range(len(old))]
    rnd.shuffle(new_names)
    rename = dict(zip(old, new_names))
    order = list(old)
    rnd.shuffle(order)
    options = {rename[key]: question.options[key] for key in order}
    if question.type == "single":
        answer = rename[question.answer]
        moved = None if response is None else rename[response]
    else:
        answer = tuple(rename[key] for key in question.answer)
        moved = [rename[key] for key in response]
        rnd.shuffle(moved)
    renamed = dataclasses.replace(question, options=options, answer=answer)
    assert score_raw(renamed, moved) == pytest.approx(score_raw(question, response))


@given(st.floats(-1e6, 1e6, allow_nan=False), st.floats(0, 100, allow_nan=False), st.floats(-1e6, 1e6, allow_nan=False))
def test_numeric_score_is_binary_and_matches_distance(value, tolerance, guess):
    question = q("numeric", NumericAnswer(value, tolerance))
    points = score_raw(question, guess)
    assert points in (0.0, 1.0)
    if abs(guess - value) < tolerance * 0.999:
        assert points == 1.0
    if abs(guess - value) > tolerance * 1.001 + 1e-6:
        assert points == 0.0
