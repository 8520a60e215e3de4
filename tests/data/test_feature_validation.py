"""The validation suite: every spec check on real Spark frames, the four lab defects, persisted
results, and `publish` refusing to write a candidate that fails."""
from __future__ import annotations

import datetime as dt

import pytest

from lakeprep import validation
from lakeprep.featurespec import SPEC_DIR, load_spec
from lakeprep.features import FeatureEngineeringClient
from lakeprep.features.churn import DEFECTS, inject_defect

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def spec():
    return load_spec(SPEC_DIR / "customer_daily_features.yml")


@pytest.fixture(scope="module")
def good(platform, spec):
    rows = []
    for i in range(60):
        for d in range(3):
            s7 = (i + d) % 5
            rows.append((f"C{i:07d}", dt.date(2025, 3, 1) + dt.timedelta(days=d), s7, s7 + 3, 10, 2, 1,
                         12.5 * (i % 4), i % 2, 5, 1 + i % 30, 100 + i, "basic"))
    df = platform.spark.createDataFrame(rows, spec.spark_schema(version=1)).cache()
    df.count()
    return df


def test_a_clean_candidate_passes_every_check(good, spec):
    report = validation.validate(good, spec, version=1, run="clean")
    assert report.passed, [r.message for r in report.failures]
    checks = {r.check for r in report.results}
    assert checks == {"schema", "primary_key", "null_rate", "range", "constraint"}
    assert report.profile["features"]["spend_30d_eur"]["mean"] == pytest.approx(18.75)


@pytest.mark.parametrize("kind, check, feature", [
    ("null_spike", "null_rate", "sessions_7d"),
    ("unit_x100", "distribution", "spend_30d_eur"),
    ("duplicate_keys", "primary_key", "customer_id, feature_date"),
    ("schema_change", "schema", "spend_30d_eur"),
])
def test_each_defect_is_named_by_feature_and_check(good, spec, kind, check, feature):
    reference = validation.validate(good, spec, version=1).profile
    report = validation.validate(inject_defect(good, kind), spec, version=1, reference=reference, run=kind)
    failed = {(r.check, r.feature) for r in report.failures}
    assert (check, feature) in failed
    with pytest.raises(validation.FeatureValidationError, match=rf"{feature.split(',')[0]}.*{check}"):
        report.raise_for_failures()


def test_unknown_defect_is_an_error(good):
    assert set(DEFECTS) == {"null_spike", "unit_x100", "duplicate_keys", "schema_change"}
    with pytest.raises(ValueError, match="unknown defect"):
        inject_defect(good, "gremlins")


def test_rules_count_nulls_as_broken_like_delta(good, spec):
    from pyspark.sql import functions as F
    broken = good.withColumn("sessions_30d", F.when(F.col("sessions_7d") == 4, F.lit(1)).otherwise(F.col("sessions_30d")))
    report = validation.validate(broken, spec, version=1)
    assert ("constraint", "windows_nest") in {(r.check, r.feature) for r in report.failures}


def test_publish_stops_before_the_table_changes_and_results_persist(platform, good, spec):
    fe = FeatureEngineeringClient(platform=platform)
    name = platform.full_name("fv_daily")
    if platform.table_exists("fv_daily"):
        fe.drop_table(name=name)
    fe.create_table(name=name, primary_keys=list(spec.primary_keys), timeseries_column=spec.timeseries_column,
                    schema=spec.spark_schema(1), description="validation test", tags=spec.table_tags())
    ok, written = validation.publish(fe, name, good, spec, run="fv-ok", version=1,
                                     commit_info={"run_id": "fv-1", "pipeline": "test"})
    assert ok.passed and written["changed_rows"] == good.count()
    version = platform.spark.sql(f"DESCRIBE HISTORY {fe.local_name(name)} LIMIT 1").first()
    assert '"run_id": "fv-1"' in version.userMetadata
    with pytest.raises(validation.FeatureValidationError) as caught:
        validation.publish(fe, name, inject_defect(good, "null_spike"), spec, run="fv-bad", version=1,
                           reference=ok.profile)
    assert platform.spark.sql(f"DESCRIBE HISTORY {fe.local_name(name)} LIMIT 1").first().version == version.version
    validation.persist(platform, [ok, caught.value.report])
    validation.persist(platform, [ok, caught.value.report])          # same keys: no duplicates
    results = platform.spark.table(platform.table(validation.RESULTS_TABLE)).where("run IN ('fv-ok', 'fv-bad')")
    assert results.count() == len(ok.results) + len(caught.value.report.results)
    failed = {(r.check_name, r.feature) for r in results.where("NOT passed").collect()}
    assert ("null_rate", "sessions_7d") in failed
