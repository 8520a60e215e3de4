"""Feature spec files: the shipped specs load, and a broken spec names its file and field."""
from __future__ import annotations

import copy

import pytest
import yaml

from lakeprep.featurespec import SPEC_DIR, TYPES, FeatureSpecError, load_spec, load_specs


@pytest.fixture()
def daily_raw():
    return yaml.safe_load((SPEC_DIR / "customer_daily_features.yml").read_text())


def write(tmp_path, data, name="spec.yml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_shipped_specs_load_and_agree_with_the_tables():
    specs = load_specs()
    assert set(specs) == {"customer_profile_features", "customer_daily_features"}
    daily = specs["customer_daily_features"]
    assert daily.primary_keys == ("customer_id", "feature_date") and daily.timeseries_column == "feature_date"
    assert "support_tickets_7d" not in daily.column_names(1) and "support_tickets_7d" in daily.column_names(2)
    assert all(c.type in TYPES and c.description for c in daily.features)
    assert daily.table_tags()["owner"] == daily.owner and daily.table_tags()["spec_version"] == "2"
    profile = specs["customer_profile_features"]
    assert profile.primary_keys == ("customer_id",) and profile.timeseries_column is None


def test_spark_schema_has_not_null_keys_and_comments():
    daily = load_spec(SPEC_DIR / "customer_daily_features.yml")
    schema = daily.spark_schema(version=1)
    fields = {f.name: f for f in schema.fields}
    assert list(fields) == daily.column_names(1)
    assert fields["customer_id"].nullable is False and fields["feature_date"].dataType.simpleString() == "date"
    assert fields["sessions_7d"].metadata["comment"].startswith("Sessions in the 7 days")


@pytest.mark.parametrize("field", ["owner", "grain", "freshness", "time_semantics", "null_policy", "features"])
def test_a_missing_field_is_named_with_the_file(tmp_path, daily_raw, field):
    del daily_raw[field]
    path = write(tmp_path, daily_raw, "broken_daily.yml")
    with pytest.raises(FeatureSpecError, match=rf"broken_daily\.yml: missing field '{field}'"):
        load_spec(path)


def test_an_unknown_type_names_the_feature_and_field(tmp_path, daily_raw):
    daily_raw["features"][3]["type"] = "decimal"
    with pytest.raises(FeatureSpecError, match=r"spec\.yml: features\[3\] \(sessions_30d\)\.type: unknown type 'decimal'"):
        load_spec(write(tmp_path, daily_raw))


@pytest.mark.parametrize("change, message", [
    (lambda d: d["features"][2].pop("description"), r"features\[2\] \(sessions_7d\): missing field 'description'"),
    (lambda d: d["features"][2].update(range=[0]), r"sessions_7d\)\.range: write \[min, max\]"),
    (lambda d: d["features"][2].update(max_null_rate=2), r"max_null_rate: a fraction"),
    (lambda d: d["features"][2].update(since=5), r"\.since: a spec version from 1 to 2"),
    (lambda d: d["features"][2].update(colour="red"), r"unknown field 'colour'"),
    (lambda d: d["features"].append(copy.deepcopy(d["features"][2])), r"'sessions_7d' appears twice"),
    (lambda d: d.update(timeseries_column="sessions_7d"), r"timeseries_column: 'sessions_7d' must be one of"),
    (lambda d: d.update(primary_keys=["customer_id", "nope"]), r"primary_keys: 'nope' is not one of the features"),
    (lambda d: d.update(version="two"), r"field 'version' must be a whole number"),
    (lambda d: d.update(surprise=1), r"unknown field 'surprise'"),
    (lambda d: d.update(constraints=[{"name": "x"}]), r"constraints\[0\]"),
])
def test_inconsistent_specs_are_rejected(tmp_path, daily_raw, change, message):
    change(daily_raw)
    with pytest.raises(FeatureSpecError, match=message):
        load_spec(write(tmp_path, daily_raw))


def test_not_yaml_and_not_a_mapping(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text("table: [unclosed")
    with pytest.raises(FeatureSpecError, match="bad.yml: not valid YAML"):
        load_spec(bad)
    bad.write_text("- just\n- a list\n")
    with pytest.raises(FeatureSpecError, match="a spec is a mapping"):
        load_spec(bad)
    with pytest.raises(FeatureSpecError, match="no such spec file"):
        load_spec(tmp_path / "missing.yml")


def test_two_specs_for_one_table_and_an_empty_folder(tmp_path, daily_raw):
    write(tmp_path, daily_raw, "a.yml")
    write(tmp_path, daily_raw, "b.yml")
    with pytest.raises(FeatureSpecError, match="already described by"):
        load_specs(tmp_path)
    with pytest.raises(FeatureSpecError, match="no spec files"):
        load_specs(tmp_path / "empty")
