"""Turning a learner's response into a score between 0 and 1.

Responses arrive from two places, typed at a terminal and read from submission files, so parsing
(`normalize`) is separate from scoring (`score`): a response of the wrong shape is reported as an
`AnswerTypeError` saying what was expected, never silently scored as wrong, so that a grader can
list it in errors.csv and a learner at the terminal can type it again.
"""
from __future__ import annotations

import math
import re
from typing import Any

from lakeprep.quiz.model import Question

BLANK = None

_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0"}
_SPLIT = re.compile(r"[,;\s]+")


class AnswerTypeError(ValueError):
    """A response that does not fit the question's type; `fix` says what would."""

    def __init__(self, problem: str, fix: str):
        super().__init__(problem)
        self.problem = problem
        self.fix = fix


def _key(question: Question, value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise AnswerTypeError(f"expected an option key, got {type(value).__name__}",
                              f"answer with one of {', '.join(question.options)}")
    key = str(value).strip()
    if key in question.options:
        return key
    folded = {k.lower(): k for k in question.options}
    if key.lower() in folded:
        return folded[key.lower()]
    raise AnswerTypeError(f"{key!r} is not an option of {question.id}",
                          f"answer with one of {', '.join(question.options)}")


def _split_keys(question: Question, text: str) -> list[str]:
    """`a,c`, `a c` or `ac` (when every option key is one character) -> ['a', 'c']."""
    text = text.strip()
    parts = [p for p in _SPLIT.split(text) if p]
    if (len(parts) == 1 and parts[0] not in question.options and len(parts[0]) > 1
            and all(len(k) == 1 for k in question.options)):
        parts = list(parts[0])
    return parts


def normalize(question: Question, raw: Any) -> Any:
    """The canonical response for scoring, `BLANK` for no answer, or AnswerTypeError.

    single -> key; multiple -> frozenset of keys; truefalse -> bool; numeric -> float.
    """
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return BLANK
    qtype = question.type
    if qtype == "single":
        if isinstance(raw, list):
            if len(raw) == 1:
                return _key(question, raw[0])
            raise AnswerTypeError(f"{question.id} takes one answer, got a list of {len(raw)}",
                                  "give a single option key")
        return _key(question, raw)
    if qtype == "multiple":
        if isinstance(raw, str):
            items: list[Any] = _split_keys(question, raw)
        elif isinstance(raw, (list, tuple, set, frozenset)):
            items = list(raw)
        else:
            raise AnswerTypeError(f"{question.id} takes a list of option keys, got {type(raw).__name__}",
                                  f"answer with a list such as [{', '.join(list(question.options)[:2])}]")
        if len(items) > len(question.options):
            raise AnswerTypeError(f"{question.id} has {len(question.options)} options, got {len(items)} keys",
                                  "list each chosen option once")
        return frozenset(_key(question, item) for item in items)
    if qtype == "truefalse":
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str):
            word = raw.strip().lower()
            if word in _TRUE:
                return True
            if word in _FALSE:
                return False
        raise AnswerTypeError(f"{question.id} is true/false, got {raw!r:.40}", "answer true or false")
    if qtype == "numeric":
        if isinstance(raw, bool):
            raise AnswerTypeError(f"{question.id} takes a number, got {raw}", "answer with a number such as 0.9")
        if isinstance(raw, (int, float)):
            number = float(raw)
        elif isinstance(raw, str) and len(raw) < 64:
            try:
                number = float(raw.strip().replace(",", "") if raw.count(",") and raw.count(".") else
                               raw.strip().replace(",", "."))
            except ValueError:
                raise AnswerTypeError(f"{question.id} takes a number, got {raw!r}",
                                      "answer with a number such as 0.9") from None
        else:
            raise AnswerTypeError(f"{question.id} takes a number, got {type(raw).__name__}",
                                  "answer with a number such as 0.9")
        if not math.isfinite(number):
            raise AnswerTypeError(f"{question.id} takes a finite number, got {raw}", "answer with a finite number")
        return number
    raise AnswerTypeError(f"unknown question type {qtype}", "validate the bank")


def score(question: Question, response: Any) -> float:
    """Points for a normalised response: 1 right, 0 wrong or blank, fractions for partial multiple."""
    if response is BLANK:
        return 0.0
    qtype = question.type
    if qtype == "single":
        return 1.0 if response == question.answer else 0.0
    if qtype == "multiple":
        right = question.right_keys
        if question.scoring == "partial":
            hits = len(response & right)
            misses = len(response - right)
            return max(0.0, (hits - misses) / len(right))
        return 1.0 if response == right else 0.0
    if qtype == "truefalse":
        return 1.0 if response == question.answer else 0.0
    if qtype == "numeric":
        return 1.0 if question.answer.accepts(response) else 0.0
    return 0.0


def score_raw(question: Question, raw: Any) -> float:
    """`score(normalize(...))`; raises AnswerTypeError for a response of the wrong shape."""
    return score(question, normalize(question, raw))


def choices(question: Question, response: Any) -> list[str]:
    """The response as the 'choice' labels that item analysis counts."""
    if response is BLANK:
        return ["blank"]
    if question.type == "single":
        return [response]
    if question.type == "multiple":
        return sorted(response) or ["blank"]
    if question.type == "truefalse":
        return ["true" if response else "false"]
    return ["correct" if question.answer.accepts(response) else "incorrect"]


def choice_labels(question: Question) -> list[str]:
    """Every label `choices` can return for this question, in display order."""
    if question.type in ("single", "multiple"):
        return list(question.options)
    if question.type == "truefalse":
        return ["true", "false"]
    return ["correct", "incorrect"]


def wrong_feedback(question: Question, response: Any) -> list[tuple[str, str]]:
    """(key, why it is wrong) for each wrong option the learner chose."""
    if response is BLANK:
        return []
    if question.type == "single":
        chosen = [response]
    elif question.type == "multiple":
        chosen = sorted(response - question.right_keys)
    elif question.type == "truefalse":
        label = "true" if response else "false"
        return [(label, question.feedback[label])] if response != question.answer and label in question.feedback else []
    else:
        return []
    return [(k, question.feedback[k]) for k in chosen if k in question.feedback and k not in question.right_keys]
