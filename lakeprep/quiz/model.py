"""The engine's vocabulary: a question, a bank, and a problem found in a file.

Questions are immutable after validation, so scoring, sampling and exports can trust every field
(an answer key is always among the options, a numeric answer always has a tolerance, ...).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

QUESTION_TYPES = ("single", "multiple", "truefalse", "numeric")
SCORING_RULES = ("all-or-nothing", "partial")
DIFFICULTIES = ("easy", "medium", "hard")
QUESTION_FIELDS = (
    "id", "type", "stem", "options", "answer", "scoring", "explanation", "feedback",
    "objectives", "section", "difficulty",
)
BANK_FIELDS = ("id", "title", "chapter", "description", "questions")


@dataclass(frozen=True)
class NumericAnswer:
    value: float
    tolerance: float

    def accepts(self, number: float) -> bool:
        # A hair of slack so that 0.91 with tolerance 0.01 accepts 0.92 despite binary floats.
        slack = 1e-9 * max(1.0, abs(self.value))
        return abs(number - self.value) <= self.tolerance + slack


Answer = Union[str, tuple, bool, NumericAnswer]


@dataclass(frozen=True)
class Question:
    id: str
    type: str
    stem: str
    answer: Answer  # single: key; multiple: tuple of keys; truefalse: bool; numeric: NumericAnswer
    explanation: str
    objectives: tuple[str, ...]
    section: str
    difficulty: str
    options: dict = field(default_factory=dict, hash=False, compare=False)  # key -> text, bank order
    feedback: dict = field(default_factory=dict, hash=False, compare=False)  # key -> why it is wrong
    scoring: str = "all-or-nothing"
    bank: str = ""
    file: str = ""
    line: int = 0

    @property
    def right_keys(self) -> frozenset[str]:
        if self.type == "single":
            return frozenset([self.answer])
        if self.type == "multiple":
            return frozenset(self.answer)
        return frozenset()

    def answer_text(self) -> str:
        """The right answer as a learner should read it in feedback."""
        if self.type == "single":
            return f"{self.answer}) {self.options[self.answer]}"
        if self.type == "multiple":
            return "; ".join(f"{k}) {self.options[k]}" for k in self.answer)
        if self.type == "truefalse":
            return "true" if self.answer else "false"
        return f"{self.answer.value:g} (± {self.answer.tolerance:g})"


@dataclass
class Bank:
    id: str
    title: str
    chapter: int | None
    questions: list[Question]
    file: str = ""

    @property
    def in_practice_pool(self) -> bool:
        """Banks without a chapter feed the mock exam; chapter banks feed chapter practice."""
        return self.chapter is None


@dataclass(frozen=True, order=True)
class Issue:
    """One problem in a bank, rubric or submission file, with what to do about it."""

    file: str
    line: int
    question: str
    problem: str
    fix: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        what = f"[{self.question}] " if self.question else ""
        return f"{where}: {what}{self.problem}\n    fix: {self.fix}"
