"""The revision map: which book sections a learner should reread first.

Every question names the book section that teaches it; the points a learner lost on a question
are charged to that section, and sections are ranked by the points lost ("missed weight"), so the
learner starts where the most marks are. Used by practice, mock exams and per-learner feedback.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from lakeprep.quiz.catalog import Catalog
from lakeprep.quiz.model import Question


def pts(points: float) -> str:
    """Points for people: at most two decimals, no trailing zeros (3.67, 2, 0.5)."""
    return f"{round(points, 2):g}"


@dataclass(frozen=True)
class RevisionEntry:
    section: str
    title: str
    link: str
    missed: float  # points lost on questions that send the learner to this section
    asked: int  # questions asked on it

    @property
    def line(self) -> str:
        return f"{pts(self.missed)} of {self.asked} missed · {self.title} ({self.link})"


def revision_map(results: Iterable[tuple[Question, float]], catalog: Catalog) -> list[RevisionEntry]:
    """Sections with any missed points, most missed first (ties: fewer asked first, then by id)."""
    missed: dict[str, float] = {}
    asked: dict[str, int] = {}
    for question, points in results:
        missed[question.section] = missed.get(question.section, 0.0) + (1.0 - points)
        asked[question.section] = asked.get(question.section, 0) + 1
    entries = [
        RevisionEntry(s, catalog.anchor_title(s), catalog.anchor_link(s), round(missed[s], 4), asked[s])
        for s in missed if missed[s] > 1e-9
    ]
    entries.sort(key=lambda e: (-e.missed, e.asked, e.section))
    return entries


def section_percents(results: Iterable[tuple[Question, float]], catalog: Catalog) -> dict[str, tuple[float, int]]:
    """Per exam section (MD/OPS/DEP): (points, questions) for the results given."""
    totals: dict[str, list[float]] = {s: [0.0, 0] for s in catalog.section_titles}
    for question, points in results:
        section = catalog.section_of(question.objectives)
        bucket = totals.setdefault(section, [0.0, 0])
        bucket[0] += points
        bucket[1] += 1
    return {s: (v[0], int(v[1])) for s, v in totals.items()}
