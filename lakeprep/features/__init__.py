"""Feature engineering for the labs: a local stand-in for `databricks.feature_engineering`.

    from lakeprep.features import FeatureLookup, feature_client
    fe = feature_client(p)                       # the real client on Databricks, the local one here
    fe.create_table(name=p.full_name("customer_daily_features"), primary_keys=["customer_id", "feature_date"],
                    timeseries_column="feature_date", df=daily, description="...", tags={"owner": "..."})
    ts = fe.create_training_set(df=labels, feature_lookups=churn_feature_lookups(p), label="churned",
                                exclude_columns=["customer_id", "cutoff"])

On a Databricks runtime (DATABRICKS_RUNTIME_VERSION set and the package installed) the names
`FeatureEngineeringClient`, `FeatureLookup` and `FeatureFunction` are the real classes, so lab
code never changes between targets.
"""
from __future__ import annotations

import datetime as _dt
import os

from lakeprep.features.entities import FeatureFunction as LocalFeatureFunction
from lakeprep.features.entities import FeatureLookup as LocalFeatureLookup
from lakeprep.features.entities import FeatureTable, TrainingSet

ON_DATABRICKS = False
if os.environ.get("DATABRICKS_RUNTIME_VERSION"):
    try:  # pragma: no cover - only on a workspace
        from databricks.feature_engineering import FeatureEngineeringClient, FeatureFunction, FeatureLookup
        ON_DATABRICKS = True
    except ImportError:  # pragma: no cover
        pass
if not ON_DATABRICKS:
    from lakeprep.features.client import FeatureEngineeringClient
    FeatureFunction = LocalFeatureFunction
    FeatureLookup = LocalFeatureLookup

PROFILE_TABLE = "customer_profile_features"
DAILY_TABLE = "customer_daily_features"
# How stale a daily feature row may be at a cutoff before the lookup gives the defaults instead.
DAILY_LOOKBACK = _dt.timedelta(days=3)


def daily_defaults() -> dict:
    """What a daily feature is when no row lies within the lookback window (from the spec file)."""
    from lakeprep.featurespec import SPEC_DIR, load_spec
    spec = load_spec(SPEC_DIR / f"{DAILY_TABLE}.yml")
    return {c.name: c.default for c in spec.columns() if c.default is not None}


def feature_client(p):
    """The Feature Engineering client for a platform: `p.feature_client()` when the platform has
    one, else the local client bound to `p` (its Spark session and name mapping)."""
    if hasattr(p, "feature_client"):
        return p.feature_client()
    if ON_DATABRICKS:  # pragma: no cover
        return FeatureEngineeringClient()
    return FeatureEngineeringClient(platform=p)


def churn_feature_lookups(p, *, lookback: _dt.timedelta = DAILY_LOOKBACK, timestamp_lookup_key: str = "cutoff",
                          daily_features=None):
    """The lookups every churn model uses (labs 2-6): the static profile plus the daily behaviour
    as of each row's `timestamp_lookup_key`, at most `lookback` old."""
    daily_kwargs = {}
    if daily_features is not None:
        daily_kwargs["feature_names"] = list(daily_features)
    defaults = {k: v for k, v in daily_defaults().items() if daily_features is None or k in daily_features}
    return [
        FeatureLookup(table_name=p.full_name(PROFILE_TABLE), lookup_key="customer_id",
                      feature_names=["country", "acquisition_channel", "signup_date"]),
        FeatureLookup(table_name=p.full_name(DAILY_TABLE), lookup_key="customer_id",
                      timestamp_lookup_key=timestamp_lookup_key, lookback_window=lookback,
                      default_values=defaults, **daily_kwargs),
    ]


__all__ = ["FeatureEngineeringClient", "FeatureLookup", "FeatureFunction", "FeatureTable", "TrainingSet",
           "feature_client", "churn_feature_lookups", "PROFILE_TABLE", "DAILY_TABLE", "ON_DATABRICKS"]
