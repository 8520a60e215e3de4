"""The generated data set: deterministic, scaled, with its traps, and learnable only honestly."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from lakeprep import datagen


@pytest.fixture(scope="module")
def small():
    return datagen.frames(42, "small")


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path):
    a = datagen.write_raw(tmp_path / "a", seed=7, scale="tiny")
    b = datagen.write_raw(tmp_path / "b", seed=7, scale="tiny")
    c = datagen.write_raw(tmp_path / "c", seed=8, scale="tiny")
    assert a["content_hash"] == b["content_hash"] and a["files"] == b["files"]
    assert c["content_hash"] != a["content_hash"]
    again = datagen.write_raw(tmp_path / "a", seed=7, scale="tiny")       # a rerun reuses the files
    assert again["reused"] and again["content_hash"] == a["content_hash"]
    manifest = json.loads((tmp_path / "a" / "_manifest.json").read_text())
    assert manifest["event_lines"] == sum(1 for f in (tmp_path / "a" / "events").rglob("*.jsonl")
                                          for _ in f.open())


def test_calendar_constants_are_consistent():
    assert list(datagen.CUTOFFS) == sorted(datagen.CUTOFFS)
    assert datagen.TRAIN_CUTOFFS + datagen.VALIDATION_CUTOFFS == datagen.CUTOFFS
    assert datagen.CUTOFFS[-1] < datagen.SCORING_CUTOFF < datagen.APP_LAUNCH < datagen.SHIFTED_CUTOFF
    last_label_window = pd.Timestamp(datagen.SHIFTED_CUTOFF) + pd.Timedelta(days=datagen.LABEL_HORIZON_DAYS)
    assert last_label_window <= pd.Timestamp(datagen.DATA_END)
    assert datagen.HISTORY_START < datagen.FEATURES_START < datagen.CUTOFFS[0]
    with pytest.raises(ValueError, match="unknown scale"):
        datagen.n_customers("huge")


def test_scale_sizes(small):
    assert len(small["customers"]) == 2_000
    assert 80_000 <= len(small["events"]) <= 250_000
    assert datagen.n_customers("medium") == 50_000 and datagen.n_customers("large") >= 1_000_000


def test_traps_are_in_the_events(small):
    ev = small["events"]
    assert ev["event_id"].duplicated().sum() > 100                                   # re-sent lines
    t = pd.to_datetime(ev["event_time"], utc=True, errors="coerce", format="ISO8601")
    late = (pd.to_datetime(ev["ingest_time"], utc=True) - t) > pd.Timedelta(days=2)
    assert late.sum() > 1_000                                                        # late arrivals
    offsets = ev["event_time"].str.match(r".*[+-]\d\d:\d\d$")
    assert offsets.sum() > 50                                                        # non-UTC notation
    assert ev["customer_id"].isna().sum() > 0 and (ev["event_type"] == "sesion").sum() > 0
    assert (ev["amount"] < 0).sum() > 0 and (ev["event_time"] == "2025-02-30T25:61:00Z").sum() > 0
    buys = ev[(ev["event_type"] == "purchase") & (ev["amount"] > 0)]
    medians = buys.groupby("batch")["amount"].median()
    assert medians.idxmax() == datagen.CENTS_BATCH and medians.max() > 50 * medians.drop(datagen.CENTS_BATCH).median()
    assert set(ev.loc[ev["event_type"].isin(datagen.EVENT_TYPES), "event_type"]) == set(datagen.EVENT_TYPES)


def test_plan_history_and_crm(small):
    plans, crm = small["plan_history"], small["crm"]
    assert set(plans["plan_tier"]) == {"basic", "standard", "premium", "cancelled"}
    assert (plans.groupby("customer_id")["change_reason"].first() == "signup").all()
    cancelled = set(plans.loc[plans["plan_tier"] == "cancelled", "customer_id"])
    assert cancelled == set(crm.loc[crm["account_status"] == "cancelled", "customer_id"])
    assert crm.loc[crm["account_status"] == "active", "cancellation_reason"].isna().all()
    assert crm["snapshot_date"].eq(datagen.DATA_END.isoformat()).all()


def test_the_app_month_has_more_sessions_and_smaller_baskets(small):
    ev = small["events"]
    ev = ev[ev["customer_id"].notna()].drop_duplicates("event_id")
    t = pd.to_datetime(ev["event_time"], utc=True, errors="coerce", format="ISO8601")
    normal = (t >= "2025-08-01") & (t < "2025-09-01")
    shifted = (t >= pd.Timestamp(datagen.APP_LAUNCH, tz="UTC")) & (t < pd.Timestamp(datagen.SHIFTED_CUTOFF, tz="UTC"))
    def per_day(mask, kind):
        return (mask & (ev["event_type"] == kind)).sum() / (t[mask].dt.date.nunique() or 1)
    assert per_day(shifted, "session") > 1.25 * per_day(normal, "session")
    buys = ev["event_type"] == "purchase"
    assert ev.loc[shifted & buys, "amount"].median() < 0.8 * ev.loc[normal & buys & (ev["batch"] != datagen.CENTS_BATCH), "amount"].median()


def _cutoff_features(frames):
    """Honest features at each cutoff (events before it only), plus the leaky CRM columns."""
    ev = frames["events"]
    ev = ev[ev["customer_id"].notna() & ev["event_type"].isin(datagen.EVENT_TYPES)].drop_duplicates("event_id").copy()
    ev["t"] = pd.to_datetime(ev["event_time"], utc=True, errors="coerce", format="ISO8601")
    ev = ev[ev["t"].notna()]
    labels = frames["labels"].copy()
    labels["c"] = pd.to_datetime(labels["cutoff"], utc=True)
    signup = pd.to_datetime(frames["customers"].set_index("customer_id")["signup_time"], utc=True)
    parts = []
    for c, group in labels.groupby("c"):
        x = group.set_index("customer_id")
        for name, days, kind in [("s30", 30, "session"), ("s7", 7, "session"), ("p30", 30, "purchase"),
                                 ("t30", 30, "support_ticket"), ("v30", 30, "page_view")]:
            w = ev[(ev["t"] < c) & (ev["t"] >= c - pd.Timedelta(days=days)) & (ev["event_type"] == kind)]
            x[name] = w.groupby("customer_id").size().reindex(x.index).fillna(0)
        last = ev[ev["t"] < c].groupby("customer_id")["t"].max().reindex(x.index)
        x["recency"] = ((c - last).dt.total_seconds() / 86400).fillna(400).clip(upper=400)
        x["tenure"] = (c - signup.reindex(x.index)).dt.total_seconds() / 86400
        parts.append(x.reset_index())
    data = pd.concat(parts, ignore_index=True)
    data = data.merge(frames["customers"][["customer_id", "acquisition_channel"]], on="customer_id")
    crm = frames["crm"].set_index("customer_id")
    data["cancelled"] = (crm["account_status"].reindex(data["customer_id"]).to_numpy() == "cancelled").astype(int)
    login = pd.to_datetime(crm["last_login_at"].reindex(data["customer_id"]).to_numpy(), utc=True)
    data["days_since_login"] = ((pd.Timestamp(datagen.DATA_END, tz="UTC") - login).total_seconds() / 86400)
    data["days_since_login"] = data["days_since_login"].fillna(500)
    return data


def test_churn_is_learnable_honestly_and_the_crm_leaks(small):
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    data = pd.get_dummies(_cutoff_features(small), columns=["acquisition_channel"], dtype=int)
    dates = data["c"].dt.date
    train, valid = data[dates.isin(datagen.TRAIN_CUTOFFS)], data[dates.isin(datagen.VALIDATION_CUTOFFS)]
    honest = ["s30", "s7", "p30", "t30", "v30", "recency", "tenure"] + [c for c in data if c.startswith("acquisition_")]
    def auc(cols):
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(train[cols], train["churned"])
        return roc_auc_score(valid["churned"], model.predict_proba(valid[cols])[:, 1])
    assert 0.05 < valid["churned"].mean() < 0.1
    assert auc(honest) >= 0.70                                     # majority baseline: 0.5
    assert auc(honest + ["cancelled", "days_since_login"]) >= 0.95  # written after the outcome


def test_labels_follow_the_definition(small):
    labels, plans, customers = small["labels"], small["plan_history"], small["customers"]
    cancel = plans[plans["plan_tier"] == "cancelled"].set_index("customer_id")["effective_from"]
    cutoff = datagen.CUTOFFS[3]
    c = pd.Timestamp(cutoff, tz="UTC")
    signup = pd.to_datetime(customers.set_index("customer_id")["signup_time"], utc=True)
    cancelled_at = pd.to_datetime(cancel.reindex(signup.index), utc=True)
    active = (signup < c) & (cancelled_at.isna() | (cancelled_at > c))
    expected = (cancelled_at[active] <= c + pd.Timedelta(days=30)).astype(int).sort_index()
    got = labels[labels["cutoff"] == cutoff.isoformat()].set_index("customer_id")["churned"].sort_index()
    assert got.index.equals(expected.index) and (got == expected).all()


@pytest.mark.spark
def test_spark_path_writes_the_same_rows_as_pandas(platform, tmp_path, monkeypatch):
    """Large scale goes through mapInPandas; on a tiny scale both paths must agree row for row."""
    monkeypatch.setitem(datagen.SCALES, "large", datagen.SCALES["tiny"])
    datagen.write_raw(tmp_path / "spark", seed=3, scale="large", spark=platform.spark)
    pandas_frames = datagen.frames(3, "tiny")
    spark = platform.spark
    customers = spark.read.option("header", True).csv(str(tmp_path / "spark" / "customers")).toPandas()
    cols = list(customers.columns)
    assert sorted(map(tuple, customers.astype(str).to_numpy())) == \
        sorted(map(tuple, pandas_frames["customers"][cols].astype(str).to_numpy()))
    events = spark.read.json(str(tmp_path / "spark" / "events"))
    assert events.count() == len(pandas_frames["events"])
    assert events.select("batch").distinct().count() == pandas_frames["events"]["batch"].nunique()
