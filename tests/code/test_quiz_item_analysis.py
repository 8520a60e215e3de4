"""Facility and discrimination indices (Moodle's definitions), checked by hand and by property."""
from __future__ import annotations

import math
import statistics

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from lakeprep.quiz.item_analysis import item_statistics, pearson


def test_hand_computed_case():
    """Four learners, three one-point items.

        learner  i1 i2 i3  total
        L1        1  1  1   3
        L2        1  1  0   2
        L3        1  0  0   1
        L4        0  0  1   1

    Item i2: scores x = [1, 1, 0, 0], rest-of-test r = total - x = [2, 1, 1, 1].
      mean x = 0.5, mean r = 1.25
      deviations dx = [.5, .5, -.5, -.5], dr = [.75, -.25, -.25, -.25]
      sum dx*dr = .375 - .125 + .125 + .125 = 0.5
      sum dx^2 = 1.0, sum dr^2 = .5625 + 3 * .0625 = 0.75
      r = 0.5 / sqrt(1.0 * 0.75) = 0.57735  -> discrimination 57.7 %
      facility = mean x = 50 %
    Item i1: x = [1, 1, 1, 0], r = [2, 1, 0, 1]; mean r = 1;
      sum dx*dr = .25*1 + .25*0 + .25*(-1) + (-.75)*0 = 0 -> discrimination 0 %; facility 75 %
    Item i3: x = [1, 0, 0, 1], r = [2, 2, 1, 0]; mean x = .5, mean r = 1.25
      sum dx*dr = .5*.75 - .5*.75 - .5*(-.25) + .5*(-1.25) = .375 - .375 + .125 - .625 = -0.5
      sum dr^2 = .5625 + .5625 + .0625 + 1.5625 = 2.75
      r = -0.5 / sqrt(1.0 * 2.75) = -0.30151 -> discrimination -30.2 %; facility 50 %
    """
    attempts = [
        {"i1": 1, "i2": 1, "i3": 1},
        {"i1": 1, "i2": 1, "i3": 0},
        {"i1": 1, "i2": 0, "i3": 0},
        {"i1": 0, "i2": 0, "i3": 1},
    ]
    stats = item_statistics(attempts, order=["i1", "i2", "i3"])
    assert list(stats) == ["i1", "i2", "i3"]
    assert stats["i2"].facility == pytest.approx(50.0)
    assert stats["i2"].discrimination == pytest.approx(57.735, abs=1e-3)
    assert stats["i1"].facility == pytest.approx(75.0)
    assert stats["i1"].discrimination == pytest.approx(0.0, abs=1e-9)
    assert stats["i3"].facility == pytest.approx(50.0)
    assert stats["i3"].discrimination == pytest.approx(-30.151, abs=1e-3)
    assert all(s.n == 4 for s in stats.values())


def test_constant_item_has_no_discrimination():
    stats = item_statistics([{"x": 1, "y": 0}, {"x": 1, "y": 1}, {"x": 1, "y": 0}])
    assert stats["x"].facility == 100.0 and stats["x"].discrimination is None
    assert pearson([1.0], [2.0]) is None


def test_items_on_different_forms_use_only_learners_who_had_them():
    stats = item_statistics([{"a": 1, "b": 0}, {"a": 0, "c": 1}, {"c": 0, "b": 1}])
    assert (stats["a"].n, stats["b"].n, stats["c"].n) == (2, 2, 2)
    assert stats["a"].facility == 50.0


matrices = st.integers(2, 12).flatmap(
    lambda n: st.lists(st.lists(st.sampled_from([0.0, 0.5, 1.0]), min_size=n, max_size=n), min_size=2, max_size=25))


@given(matrices)
def test_matches_direct_computation(rows):
    attempts = [{f"q{i}": v for i, v in enumerate(row)} for row in rows]
    stats = item_statistics(attempts)
    for i in range(len(rows[0])):
        xs = [row[i] for row in rows]
        rest = [sum(row) - row[i] for row in rows]
        item = stats[f"q{i}"]
        assert item.facility == pytest.approx(100 * statistics.fmean(xs))
        if len(set(xs)) > 1 and len(set(rest)) > 1:
            assert item.discrimination == pytest.approx(100 * statistics.correlation(xs, rest), abs=1e-6)
        else:
            assert item.discrimination is None


@given(st.lists(st.tuples(st.floats(-50, 50), st.floats(-50, 50)), min_size=3, max_size=30))
def test_pearson_is_bounded(pairs):
    xs, ys = zip(*pairs)
    assume(statistics.pvariance(xs) > 1e-6 and statistics.pvariance(ys) > 1e-6)
    r = pearson(xs, ys)
    assert r is not None and -1.0 <= r <= 1.0 and not math.isnan(r)
