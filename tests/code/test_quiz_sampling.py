"""Weighted exam sampling: largest-remainder quotas, disjoint forms, determinism, clear shortfalls."""
from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lakeprep.errors import LakeprepError
from lakeprep.quiz.model import Question
from lakeprep.quiz.sampling import draw_exam, draw_forms, draw_two_forms, section_quotas

WEIGHTS = {"MD": 0.44, "OPS": 0.44, "DEP": 0.12}
OBJECTIVES = {"MD": ["MD.1.1", "MD.2.2", "MD.4.1"], "OPS": ["OPS.2.1", "OPS.5.1"], "DEP": ["DEP.1.1"]}


def pool(md: int, ops: int, dep: int) -> list[Question]:
    out = []
    for section, count in (("MD", md), ("OPS", ops), ("DEP", dep)):
        for i in range(count):
            objective = OBJECTIVES[section][i % len(OBJECTIVES[section])]
            out.append(Question(id=f"{section.lower()}-{i:03d}", type="truefalse", stem="?", answer=True,
                                explanation="e", objectives=(objective,), section="s", difficulty="easy"))
    return out


def section_of(q: Question) -> str:
    return q.objectives[0].split(".")[0]


def test_quotas_for_the_real_exam():
    assert section_quotas(59, WEIGHTS) == {"MD": 26, "OPS": 26, "DEP": 7}


def test_largest_remainder_examples():
    # 10 x (.44, .44, .12) = 4.4, 4.4, 1.2 -> floors 4, 4, 1; one seat left: tie .4/.4 goes to MD (listed first)
    assert section_quotas(10, WEIGHTS) == {"MD": 5, "OPS": 4, "DEP": 1}
    # 5 -> 2.2, 2.2, 0.6 -> floors 2, 2, 0; the one left goes to the largest remainder, DEP (.6)
    assert section_quotas(5, WEIGHTS) == {"MD": 2, "OPS": 2, "DEP": 1}
    # weights need not sum to 1
    assert section_quotas(7, {"A": 2, "B": 1}) == {"A": 5, "B": 2}


@given(st.integers(0, 500), st.dictionaries(st.sampled_from(list("ABCDE")), st.floats(0.01, 10), min_size=1))
def test_quotas_sum_to_n_and_stay_within_one_of_exact(n, weights):
    quotas = section_quotas(n, weights)
    assert sum(quotas.values()) == n
    total = sum(weights.values())
    for s, k in quotas.items():
        assert abs(k - n * weights[s] / total) < 1.0


def test_two_disjoint_forms_at_the_weights():
    first, second = draw_two_forms(pool(60, 60, 15), WEIGHTS, section_of, n=59, seed=7)
    assert len(first) == len(second) == 59
    assert not {q.id for q in first} & {q.id for q in second}
    for form in (first, second):
        assert Counter(section_of(q) for q in form) == {"MD": 26, "OPS": 26, "DEP": 7}
        assert len({q.id for q in form}) == 59


def test_draw_spreads_over_objectives():
    form = draw_exam(pool(60, 60, 15), 59, WEIGHTS, section_of, seed=3)
    per_objective = Counter(q.objectives[0] for q in form)
    # 26 MD over 3 objectives round-robin -> 8 or 9 each; 26 OPS over 2 -> 13 each
    assert sorted(per_objective[o] for o in OBJECTIVES["MD"]) == [8, 9, 9]
    assert [per_objective[o] for o in OBJECTIVES["OPS"]] == [13, 13]


def test_same_seed_same_exam_and_form_one_is_stable():
    p = pool(60, 60, 15)
    a = draw_exam(p, 59, WEIGHTS, section_of, seed=11)
    b = draw_exam(list(reversed(p)), 59, WEIGHTS, section_of, seed=11)
    assert [q.id for q in a] == [q.id for q in b]
    two = draw_forms(p, 59, WEIGHTS, section_of, seed=11, forms=2)
    assert [q.id for q in two[0]] == [q.id for q in a]
    assert [q.id for q in draw_exam(p, 59, WEIGHTS, section_of, seed=11, form=2)] == [q.id for q in two[1]]
    assert [q.id for q in draw_exam(p, 59, WEIGHTS, section_of, seed=12)] != [q.id for q in a]


def test_exclude_previously_drawn():
    p = pool(60, 60, 15)
    first = draw_exam(p, 59, WEIGHTS, section_of, seed=1)
    second = draw_exam(p, 59, WEIGHTS, section_of, seed=99, exclude=[q.id for q in first])
    assert not {q.id for q in first} & {q.id for q in second}


def test_short_pool_names_the_section():
    with pytest.raises(LakeprepError) as err:
        draw_forms(pool(60, 60, 10), 59, WEIGHTS, section_of, seed=1, forms=2)
    message = str(err.value)
    assert "DEP: need 14, have 10" in message and "MD" not in message.split("(")[1]
    assert "--questions" in message
