"""Value classes of the local Feature Engineering client, shaped like `databricks.feature_engineering`."""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Any

# The types whose nulls `default_values` may fill (as on Databricks).
DEFAULTABLE_TYPES = ("int", "float", "boolean", "string", "double", "bigint", "smallint")


def _as_list(value, what: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return list(value)
    raise ValueError(f"{what} must be a column name or a list of column names, got {value!r}")


class FeatureLookup:
    """Which features to take from a feature table, and how to join them to a DataFrame.

    Mirrors `databricks.feature_engineering.FeatureLookup`. With `timestamp_lookup_key` the join
    is point in time: for each row, the newest feature row whose timestamp is at or before the
    row's timestamp and, when `lookback_window` is set, not older than that window (inclusive).
    Rows without a match get null, or the feature's entry in `default_values`.
    """

    def __init__(self, table_name: str, lookup_key, *, feature_names=None, rename_outputs=None,
                 timestamp_lookup_key=None, lookback_window: _dt.timedelta | None = None,
                 default_values: dict | None = None, **kwargs):
        if kwargs:
            unknown = ", ".join(sorted(kwargs))
            raise TypeError(f"FeatureLookup() got unexpected keyword argument(s): {unknown}")
        if not isinstance(table_name, str) or not table_name:
            raise ValueError("table_name must be the feature table's name (catalog.schema.table)")
        self.table_name = table_name
        self.lookup_key = _as_list(lookup_key, "lookup_key")
        if not self.lookup_key:
            raise ValueError("lookup_key must name at least one column")
        self.feature_names = _as_list(feature_names, "feature_names") if feature_names is not None else None
        self.rename_outputs = dict(rename_outputs or {})
        ts = _as_list(timestamp_lookup_key, "timestamp_lookup_key")
        if len(ts) > 1:
            raise ValueError(f"only one timestamp_lookup_key is supported, got {ts}")
        self.timestamp_lookup_key = ts[0] if ts else None
        if lookback_window is not None:
            if not isinstance(lookback_window, _dt.timedelta):
                raise ValueError(f"lookback_window must be a datetime.timedelta, got {lookback_window!r}")
            if lookback_window < _dt.timedelta(0):
                raise ValueError(f"lookback_window must not be negative, got {lookback_window}")
            if self.timestamp_lookup_key is None:
                raise ValueError("lookback_window needs a timestamp_lookup_key: a window only makes sense "
                                 "for a point-in-time lookup")
        self.lookback_window = lookback_window
        self.default_values = dict(default_values or {})

    def output_name(self, feature: str) -> str:
        return self.rename_outputs.get(feature, feature)

    def to_dict(self) -> dict:
        return {
            "kind": "lookup",
            "table_name": self.table_name,
            "lookup_key": self.lookup_key,
            "feature_names": self.feature_names,
            "rename_outputs": self.rename_outputs,
            "timestamp_lookup_key": self.timestamp_lookup_key,
            "lookback_window_seconds": None if self.lookback_window is None else self.lookback_window.total_seconds(),
            "default_values": self.default_values,
        }

    @classmethod
    def from_dict(cls, d: dict) -> "FeatureLookup":
        window = d.get("lookback_window_seconds")
        return cls(d["table_name"], d["lookup_key"], feature_names=d.get("feature_names"),
                   rename_outputs=d.get("rename_outputs"), timestamp_lookup_key=d.get("timestamp_lookup_key"),
                   lookback_window=None if window is None else _dt.timedelta(seconds=window),
                   default_values=d.get("default_values"))

    def __repr__(self) -> str:
        extra = f", timestamp_lookup_key={self.timestamp_lookup_key!r}" if self.timestamp_lookup_key else ""
        if self.lookback_window is not None:
            extra += f", lookback_window={self.lookback_window!r}"
        return f"FeatureLookup({self.table_name!r}, {self.lookup_key!r}{extra})"


class FeatureFunction:
    """An on-demand feature: a SQL function evaluated on each row when the training set is built.

    Locally `udf_name` names a Spark SQL function (`CREATE FUNCTION ... RETURN expr`), the stand-in
    for a Unity Catalog Python UDF; `input_bindings` maps its parameters to columns.
    """

    def __init__(self, *, udf_name: str, input_bindings: dict | None = None, output_name: str | None = None):
        if not udf_name:
            raise ValueError("udf_name must name a function (catalog.schema.function)")
        self.udf_name = udf_name
        self.input_bindings = dict(input_bindings or {})
        self.output_name = output_name or udf_name.split(".")[-1]

    def to_dict(self) -> dict:
        return {"kind": "function", "udf_name": self.udf_name, "input_bindings": self.input_bindings,
                "output_name": self.output_name}

    @classmethod
    def from_dict(cls, d: dict) -> "FeatureFunction":
        return cls(udf_name=d["udf_name"], input_bindings=d.get("input_bindings"), output_name=d.get("output_name"))

    def __repr__(self) -> str:
        return f"FeatureFunction(udf_name={self.udf_name!r}, output_name={self.output_name!r})"


@dataclass
class FeatureTable:
    """What `get_table` returns: the table's keys, features and the metadata stored with it."""

    name: str
    table_id: str
    path: str
    primary_keys: list[str]
    timeseries_column: str | None
    features: list[str]
    description: str | None
    tags: dict[str, str]
    partition_columns: list[str] = field(default_factory=list)
    owner: str | None = None
    data_sources: list[str] = field(default_factory=list)
    creation_timestamp: Any = None
    local_name: str | None = None
    properties: dict[str, str] = field(default_factory=dict)
    num_files: int = 0

    @property
    def timestamp_keys(self) -> list[str]:
        return [self.timeseries_column] if self.timeseries_column else []


class TrainingSet:
    """A DataFrame with its features looked up, plus what is needed to redo the lookups."""

    def __init__(self, df, *, feature_lookups, label, exclude_columns, feature_columns, input_columns,
                 table_versions):
        self._df = df
        self.feature_lookups = list(feature_lookups)
        self.label = label
        self.exclude_columns = list(exclude_columns or [])
        self.feature_columns = list(feature_columns)
        self.input_columns = list(input_columns)
        self.table_versions = dict(table_versions)

    def load_df(self):
        """The training DataFrame (lazy: nothing runs until an action)."""
        return self._df

    def feature_spec(self) -> dict:
        """What `log_model` stores with a model so that `score_batch` can redo the lookups."""
        return {
            "format": "lakeprep-feature-spec/1",
            "features": [f.to_dict() for f in self.feature_lookups],
            "label": self.label,
            "exclude_columns": self.exclude_columns,
            "feature_columns": self.feature_columns,
            "input_columns": self.input_columns,
            "table_versions": self.table_versions,
        }
