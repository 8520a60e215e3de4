"""Drawing mock exams from the practice pool at the real exam's section weights.

A mock exam is only honest if it weighs Model Development, MLOps and Deployment the way the real
one does (44/44/12 of 59 questions), so quotas use largest-remainder rounding of n x weight, and
within a section the draw is spread across objectives (round-robin over shuffled objective groups)
so that one well-stocked objective cannot crowd out the others. Several forms drawn from one
shuffle are disjoint by construction, which is what a learner retaking the mock needs.
"""
from __future__ import annotations

import math
import random
from collections import defaultdict
from typing import Callable, Iterable, Mapping, Sequence

from lakeprep.errors import LakeprepError
from lakeprep.quiz.model import Question


def section_quotas(n: int, weights: Mapping[str, float]) -> dict[str, int]:
    """Split `n` questions across sections by weight with largest-remainder (Hamilton) rounding.

    Ties in the remainders go to the heavier section, then to the one listed first, so the split
    is deterministic: 59 at MD .44 / OPS .44 / DEP .12 gives 26 / 26 / 7.
    """
    if n < 0:
        raise LakeprepError(f"cannot draw {n} questions: give a positive --questions")
    total = sum(w for w in weights.values() if w > 0)
    if total <= 0:
        raise LakeprepError("no section has a positive weight in objectives.yml: set `weight:` per section")
    order = list(weights)
    exact = {s: n * weights[s] / total if weights[s] > 0 else 0.0 for s in order}
    quotas = {s: math.floor(exact[s]) for s in order}
    left = n - sum(quotas.values())
    ranked = sorted(order, key=lambda s: (-(exact[s] - quotas[s]), -weights[s], order.index(s)))
    for s in ranked[:left]:
        quotas[s] += 1
    return quotas


def _spread(questions: list[Question], rng: random.Random) -> list[Question]:
    """Shuffle, then interleave by primary objective so any prefix covers many objectives."""
    groups: dict[str, list[Question]] = defaultdict(list)
    for q in questions:
        groups[q.objectives[0] if q.objectives else ""].append(q)
    keys = sorted(groups)
    rng.shuffle(keys)
    for key in keys:
        rng.shuffle(groups[key])
    out: list[Question] = []
    while any(groups[k] for k in keys):
        for key in keys:
            if groups[key]:
                out.append(groups[key].pop())
    return out


def draw_forms(
    pool: Sequence[Question],
    n: int,
    weights: Mapping[str, float],
    section_of: Callable[[Question], str],
    seed: int | None = None,
    forms: int = 1,
    exclude: Iterable[str] = (),
) -> list[list[Question]]:
    """Draw `forms` pairwise-disjoint exams of `n` questions each at the section weights.

    `exclude` drops ids already seen (a previous attempt). Raises LakeprepError naming the
    sections that are short, so the learner (or bank author) knows what to ask for or add.
    """
    if forms < 1:
        raise LakeprepError("the number of forms must be at least 1")
    rng = random.Random(seed)
    excluded = set(exclude)
    by_section: dict[str, list[Question]] = defaultdict(list)
    for q in sorted(pool, key=lambda q: q.id):  # sorted: the same seed gives the same exam
        if q.id not in excluded:
            by_section[section_of(q)].append(q)
    quotas = section_quotas(n, weights)
    short = [
        f"{s}: need {forms * k}, have {len(by_section.get(s, []))}"
        for s, k in quotas.items() if len(by_section.get(s, [])) < forms * k
    ]
    if short:
        what = f"{forms} disjoint forms of {n}" if forms > 1 else f"an exam of {n}"
        raise LakeprepError(
            f"the practice pool is too small for {what} questions ({'; '.join(short)}): "
            "ask for fewer with --questions, or add questions to the practice-*.yml banks"
        )
    spread = {s: _spread(by_section[s], rng) for s in quotas}
    result = []
    for form in range(forms):
        chosen: list[Question] = []
        for s, k in quotas.items():
            chosen.extend(spread[s][form * k:(form + 1) * k])
        rng.shuffle(chosen)
        result.append(chosen)
    return result


def draw_exam(pool, n, weights, section_of, seed=None, form: int = 1, exclude: Iterable[str] = ()) -> list[Question]:
    """Form number `form` (1-based) of the disjoint forms the seed defines."""
    if form < 1:
        raise LakeprepError(f"--form must be 1 or more, got {form}")
    return draw_forms(pool, n, weights, section_of, seed=seed, forms=form, exclude=exclude)[form - 1]


def draw_two_forms(pool, weights, section_of, n: int = 59, seed: int | None = None) -> tuple[list[Question], list[Question]]:
    """Two disjoint `n`-question forms at the section weights (form 1 and form 2 of `quiz exam`)."""
    first, second = draw_forms(pool, n, weights, section_of, seed=seed, forms=2)
    return first, second
