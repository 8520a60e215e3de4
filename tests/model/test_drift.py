"""Drift statistics on synthetic distributions: equal ones stay quiet, shifted ones alert, and PSI
matches a value worked out by hand."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from lakeprep import drift


def test_psi_from_shares_by_hand():
    # (0.25-0.5)*ln(0.25/0.5) + (0.75-0.5)*ln(0.75/0.5) = 0.25*ln 2 + 0.25*ln 1.5
    expected = 0.25 * math.log(2) + 0.25 * math.log(1.5)
    assert drift.psi_from_shares([0.5, 0.5], [0.25, 0.75]) == pytest.approx(expected)
    assert expected == pytest.approx(0.27465, abs=1e-5)


def test_psi_of_values_by_hand():
    # two bins split at the reference median 2.5: reference 50/50, current 75/25
    reference, current = [1, 2, 3, 4], [1, 1, 1, 4]
    assert list(drift.bin_edges(reference, bins=2)) == [2.5]
    assert list(drift.shares(current, [2.5])) == [0.75, 0.25]
    expected = 0.25 * math.log(1.5) + 0.25 * math.log(2)
    assert drift.psi(reference, current, bins=2) == pytest.approx(expected)


def test_psi_is_zero_for_identical_and_grows_with_the_shift():
    rng = np.random.default_rng(0)
    base = rng.normal(0, 1, 20_000)
    assert drift.psi(base, base) == pytest.approx(0.0, abs=1e-12)
    values = [drift.psi(base, base + shift) for shift in (0.1, 0.3, 0.6, 1.0)]
    assert values == sorted(values) and values[0] < 0.1 < values[-1]


def test_empty_bins_do_not_make_psi_infinite():
    assert math.isfinite(drift.psi_from_shares([1.0, 0.0], [0.0, 1.0]))


def _frames(shift=0.0, channel_shift=False, n=5000, seed=1):
    rng = np.random.default_rng(seed)
    reference = pd.DataFrame({
        "sessions": rng.poisson(6, n), "basket": rng.gamma(3, 20, n),
        "channel": rng.choice(["web", "app", "store"], n, p=[0.6, 0.2, 0.2])})
    rng2 = np.random.default_rng(seed + 100)
    p = [0.3, 0.5, 0.2] if channel_shift else [0.6, 0.2, 0.2]
    current = pd.DataFrame({
        "sessions": rng2.poisson(6 * (1 + shift), n), "basket": rng2.gamma(3, 20 * (1 - shift / 2), n),
        "channel": rng2.choice(["web", "app", "store"], n, p=p)})
    return reference, current


def test_same_distribution_raises_no_alert():
    reference, current = _frames()
    report = drift.compare(reference, current, ["sessions", "basket"], ["channel"], label="normal")
    assert not report.alert, report.table
    assert report.alerting == []
    assert (report.table["psi"] < 0.05).all()


def test_shifted_numeric_distribution_alerts():
    reference, current = _frames(shift=0.6)
    report = drift.compare(reference, current, ["sessions", "basket"], ["channel"])
    assert report.alert
    assert set(report.alerting) == {"sessions", "basket"}
    row = report.table.loc["sessions"]
    assert row["psi"] > 0.25 and row["ks_statistic"] > 0.1 and row["ks_pvalue"] < 0.01
    assert "PSI" in row["reasons"] and "KS" in row["reasons"]


def test_shifted_categories_alert_through_chi_square():
    reference, current = _frames(channel_shift=True)
    report = drift.compare(reference, current, ["sessions"], ["channel"])
    assert report.alerting == ["channel"]
    row = report.table.loc["channel"]
    assert row["chi2_pvalue"] < 1e-6 and row["tv_distance"] == pytest.approx(0.3, abs=0.03)


def test_thresholds_decide():
    reference, current = _frames(shift=0.05)
    strict = drift.compare(reference, current, ["sessions"], thresholds=drift.Thresholds(psi=0.001, ks_statistic=0.001))
    lax = drift.compare(reference, current, ["sessions"], thresholds=drift.Thresholds(psi=5, ks_statistic=0.9))
    assert strict.alert and not lax.alert


def test_metrics_table_has_one_row_per_column_and_statistic():
    reference, current = _frames(shift=0.6)
    metrics = drift.compare(reference, current, ["sessions", "basket"], ["channel"], label="m").metrics()
    assert len(metrics) == 2 * 2 + 3
    assert set(metrics["statistic"]) == {"population_stability_index", "ks_test",
                                         "chi_squared_test", "tv_distance"}
    assert (metrics["window"] == "m").all()


def test_profile_and_plot():
    reference, current = _frames(shift=0.6)
    prof = drift.profile(reference, ["sessions", "basket"], ["channel"])
    assert prof.loc["sessions", "count"] == len(reference)
    assert prof.loc["channel", "distinct"] == 3
    report = drift.compare(reference, current, ["sessions", "basket"], ["channel"])
    fig = drift.plot(reference, current, report, max_columns=2)
    assert len(fig.axes) == 3


def test_informational_columns_are_measured_but_never_alert():
    reference, current = _frames(shift=0.6)
    report = drift.compare(reference, current, ["sessions", "basket"], informational=["sessions"])
    assert report.alerting == ["basket"]
    row = report.table.loc["sessions"]
    assert row["psi"] > 0.25 and not row["alert"] and "would be" in row["reasons"]


@pytest.mark.spark
def test_metrics_table_is_replaced_not_appended_on_a_rerun(platform):
    reference, current = _frames(shift=0.3)
    report = drift.compare(reference, current, ["sessions", "basket"], ["channel"], label="rerun")
    table = platform.table("drift_metrics_rerun_check")
    platform.spark.sql(f"DROP TABLE IF EXISTS {table}")
    first = drift.write_metrics(platform.spark, [report], table)
    rows_once = sorted(map(tuple, platform.spark.table(table).collect()))
    second = drift.write_metrics(platform.spark, [report], table)
    rows_twice = sorted(map(tuple, platform.spark.table(table).collect()))
    assert first == second == len(rows_once) > 0
    assert rows_twice == rows_once
