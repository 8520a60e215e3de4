"""The local FeatureEngineeringClient: tables and their metadata, merge writes, argument errors
raised before Spark runs anything, training sets, and models that carry their lookups."""
from __future__ import annotations

import datetime as dt

import pytest

from lakeprep.features import FeatureEngineeringClient, FeatureFunction, FeatureLookup, feature_client

pytestmark = pytest.mark.spark

SCHEMA = "customer_id STRING, day DATE, visits INT, spend DOUBLE, tier STRING"
D = dt.date(2025, 3, 1)


@pytest.fixture(scope="module")
def fe(platform):
    return FeatureEngineeringClient(platform=platform)


@pytest.fixture(scope="module")
def daily(platform, fe):
    name = platform.full_name("fc_daily")
    if platform.table_exists("fc_daily"):
        fe.drop_table(name=name)
    df = platform.spark.createDataFrame([
        ("c1", D, 3, 10.0, "basic"), ("c1", D + dt.timedelta(days=1), 4, 12.5, "basic"),
        ("c2", D, 0, 0.0, "premium"),
    ], SCHEMA)
    fe.create_table(name=name, primary_keys=["customer_id", "day"], timeseries_column="day", df=df,
                    description="Visits and spend per customer and day", tags={"owner": "team-a", "domain": "web"})
    return name


@pytest.fixture(scope="module")
def profile(platform, fe):
    name = platform.full_name("fc_profile")
    if platform.table_exists("fc_profile"):
        fe.drop_table(name=name)
    df = platform.spark.createDataFrame([("c1", "DE", dt.date(2024, 1, 1)), ("c2", "FR", dt.date(2024, 6, 1))],
                                        "customer_id STRING, country STRING, signup DATE")
    fe.create_table(name=name, primary_keys="customer_id", df=df, description="Static profile")
    return name


def test_feature_client_helper_binds_the_platform(platform):
    client = feature_client(platform)
    assert client.local_name(platform.full_name("x")) == platform.table("x")


def test_names_map_three_levels_onto_the_local_metastore(platform, fe):
    assert fe.local_name(platform.full_name("t")) == platform.table("t")
    assert fe.local_name("other_cat.other_schema.t") == "other_cat_other_schema.t"
    assert fe.local_name("t") == platform.table("t")
    with pytest.raises(ValueError, match="not a valid feature table name"):
        fe.local_name("a.b.c.d")


def test_get_table_returns_keys_timeseries_and_stored_metadata(platform, fe, daily):
    table = fe.get_table(name=daily)
    assert table.primary_keys == ["customer_id", "day"]
    assert table.timeseries_column == "day" and table.timestamp_keys == ["day"]
    assert table.features == ["visits", "spend", "tier"]
    assert table.description == "Visits and spend per customer and day"
    assert table.tags == {"owner": "team-a", "domain": "web"} and table.owner == "team-a"
    assert table.table_id and "fc_daily" in table.path and table.local_name == platform.table("fc_daily")
    # keys are NOT NULL in the Delta table
    fields = {f.name: f.nullable for f in platform.spark.table(table.local_name).schema.fields}
    assert fields["customer_id"] is False and fields["day"] is False


def test_lineage_comes_from_the_dataframe_that_created_the_table(platform, fe):
    spark = platform.spark
    spark.createDataFrame([("c9", 1)], "customer_id STRING, n INT").write.mode("overwrite") \
        .saveAsTable(platform.table("fc_lineage_source"))
    name = platform.full_name("fc_lineage")
    if platform.table_exists("fc_lineage"):
        fe.drop_table(name=name)
    fe.create_table(name=name, primary_keys=["customer_id"],
                    df=spark.table(platform.table("fc_lineage_source")).selectExpr("customer_id", "n * 2 AS n2"))
    assert fe.get_table(name=name).data_sources == [platform.table("fc_lineage_source")]


@pytest.mark.parametrize("kwargs, message", [
    ({"timeseries_column": "visits"}, "must be one of the primary keys"),
    ({"timestamp_keys": ["day", "customer_id"]}, "at most one timeseries column"),
    ({"primary_keys": ["nope"]}, "primary key 'nope' is not a column"),
    ({"partition_columns": ["nope"]}, "partition column 'nope'"),
])
def test_create_table_rejects_bad_keys(platform, fe, kwargs, message):
    from pyspark.sql import types as T
    schema = T._parse_datatype_string(SCHEMA)
    args = {"name": platform.full_name("fc_never"), "primary_keys": ["customer_id", "day"], "schema": schema}
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        fe.create_table(**args)
    assert not platform.table_exists("fc_never")


def test_create_table_accepts_timestamp_keys_and_refuses_an_existing_table(platform, fe, daily):
    from pyspark.sql import types as T
    name = platform.full_name("fc_legacy")
    if platform.table_exists("fc_legacy"):
        fe.drop_table(name=name)
    table = fe.create_table(name=name, primary_keys=["customer_id", "day"], timestamp_keys="day",
                            schema=T._parse_datatype_string(SCHEMA))
    assert table.timeseries_column == "day"
    with pytest.raises(ValueError, match="already exists"):
        fe.create_table(name=daily, primary_keys=["customer_id", "day"], schema=T._parse_datatype_string(SCHEMA))


def test_write_table_merges_and_commits_nothing_when_nothing_changed(platform, fe, daily):
    spark, local = platform.spark, fe.local_name(daily)
    before = spark.sql(f"DESCRIBE HISTORY {local} LIMIT 1").first().version
    same = spark.table(local)
    assert fe.write_table(name=daily, df=same)["committed"] is False
    assert spark.sql(f"DESCRIBE HISTORY {local} LIMIT 1").first().version == before
    update = spark.createDataFrame([("c2", D, 5, 1.0, "premium"), ("c3", D, 1, 2.0, "basic")], SCHEMA)
    result = fe.write_table(name=daily, df=update)
    assert result["changed_rows"] == 2 and result["committed"]
    rows = {(r.customer_id, r.day): r.visits for r in spark.table(local).collect()}
    assert rows[("c2", D)] == 5 and rows[("c3", D)] == 1 and len(rows) == 4


def test_write_table_partial_columns_keep_the_others(platform, fe, daily):
    spark, local = platform.spark, fe.local_name(daily)
    fe.write_table(name=daily, df=spark.createDataFrame([("c1", D, 99)], "customer_id STRING, day DATE, visits INT"))
    row = spark.table(local).where(f"customer_id = 'c1' AND day = DATE'{D}'").first()
    assert row.visits == 99 and row.spend == 10.0


def _fresh(platform, fe, name, rows):
    full = platform.full_name(name)
    if platform.table_exists(name):
        fe.drop_table(name=full)
    fe.create_table(name=full, primary_keys=["customer_id", "day"], timeseries_column="day",
                    df=platform.spark.createDataFrame(rows, SCHEMA))
    return full


def test_copies_of_a_stored_row_commit_nothing_and_raise_no_conflict(platform, fe):
    spark = platform.spark
    stored = ("c1", D, 3, 10.0, "basic")
    name = _fresh(platform, fe, "fc_copies", [stored])
    local = fe.local_name(name)
    before = spark.sql(f"DESCRIBE HISTORY {local} LIMIT 1").first().version
    twice = spark.createDataFrame([stored, stored], SCHEMA)
    assert fe.write_table(name=name, df=twice)["committed"] is False
    assert spark.sql(f"DESCRIBE HISTORY {local} LIMIT 1").first().version == before
    # two copies of the stored row next to one new row for another day: only the new row is written
    result = fe.write_table(name=name, df=spark.createDataFrame(
        [stored, stored, ("c1", D + dt.timedelta(days=1), 5, 1.0, "basic")], SCHEMA))
    assert result["changed_rows"] == 1 and spark.table(local).count() == 2


def test_rows_differing_only_in_where_their_nulls_are_conflict(platform, fe):
    # (NULL, "v") and ("v", NULL) in two columns of one type: a hash that skips NULLs sees one row
    columns = "customer_id STRING, day DATE, a STRING, b STRING"
    name = platform.full_name("fc_null_pattern")
    if platform.table_exists("fc_null_pattern"):
        fe.drop_table(name=name)
    fe.create_table(name=name, primary_keys=["customer_id", "day"], timeseries_column="day",
                    df=platform.spark.createDataFrame([("c9", D, "x", "y")], columns))
    clash = platform.spark.createDataFrame([("c1", D, None, "v"), ("c1", D, "v", None)], columns)
    with pytest.raises(ValueError, match="different rows for the same primary key"):
        fe.write_table(name=name, df=clash)
    assert platform.spark.table(fe.local_name(name)).count() == 1


@pytest.mark.parametrize("df_schema, rows, message", [
    ("customer_id STRING, visits INT", [("c1", 1)], "lacks the primary key"),
    ("customer_id STRING, day DATE, visits STRING", [("c1", D, "x")], "is string but"),
])
def test_write_table_errors(platform, fe, daily, df_schema, rows, message):
    with pytest.raises(ValueError, match=message):
        fe.write_table(name=daily, df=platform.spark.createDataFrame(rows, df_schema))


def test_write_table_only_merges(platform, fe, daily):
    with pytest.raises(ValueError, match="only merges"):
        fe.write_table(name=daily, df=platform.spark.table(fe.local_name(daily)), mode="overwrite")


def test_lookup_argument_errors():
    with pytest.raises(ValueError, match="needs a timestamp_lookup_key"):
        FeatureLookup("c.s.t", "k", lookback_window=dt.timedelta(days=1))
    with pytest.raises(ValueError, match="must not be negative"):
        FeatureLookup("c.s.t", "k", timestamp_lookup_key="t", lookback_window=dt.timedelta(days=-1))
    with pytest.raises(ValueError, match="only one timestamp_lookup_key"):
        FeatureLookup("c.s.t", "k", timestamp_lookup_key=["t", "u"])
    with pytest.raises(TypeError):
        FeatureLookup("c.s.t", "k", surprise=True)


def test_missing_lookup_key_fails_before_any_spark_job(platform, fe, daily):
    sc = platform.spark.sparkContext
    labels = platform.spark.createDataFrame([("c1", D)], "client STRING, at DATE")
    sc.setJobGroup("fe-missing-key", "should stay empty")
    try:
        with pytest.raises(ValueError, match=r"lookup key\(s\) \['customer_id'\].*not columns of df"):
            fe.create_training_set(df=labels, label=None, feature_lookups=[
                FeatureLookup(daily, "customer_id", timestamp_lookup_key="at")])
    finally:
        sc.setLocalProperty("spark.jobGroup.id", None)
    assert sc.statusTracker().getJobIdsForGroup("fe-missing-key") == []


@pytest.mark.parametrize("lookup_key, frame, message", [
    (["customer_id", "tier"], "customer_id STRING, tier STRING, at DATE", "has 2 column"),
    ("customer_id", "customer_id INT, at DATE", "types must match"),
])
def test_lookup_keys_must_match_the_primary_key(platform, fe, daily, lookup_key, frame, message):
    df = platform.spark.createDataFrame([], frame)
    with pytest.raises(ValueError, match=message):
        fe.create_training_set(df=df, label=None,
                               feature_lookups=[FeatureLookup(daily, lookup_key, timestamp_lookup_key="at")])


def test_timestamp_lookup_needs_a_timeseries_table(platform, fe, profile):
    df = platform.spark.createDataFrame([], "customer_id STRING, at DATE")
    with pytest.raises(ValueError, match="has no timeseries column"):
        fe.create_training_set(df=df, label=None,
                               feature_lookups=[FeatureLookup(profile, "customer_id", timestamp_lookup_key="at")])


def test_training_set_renames_defaults_excludes_and_evaluates_functions(platform, fe, daily, profile):
    spark = platform.spark
    spark.sql(f"CREATE OR REPLACE FUNCTION {platform.table('fc_tenure')}(signup DATE, at DATE) "
              "RETURNS INT RETURN datediff(at, signup)")
    labels = spark.createDataFrame([("c1", D + dt.timedelta(days=1), 1), ("c9", D, 0)],
                                   "customer_id STRING, at DATE, y INT")
    ts = fe.create_training_set(df=labels, label="y", exclude_columns=["signup"], features=[
        FeatureLookup(daily, "customer_id", timestamp_lookup_key="at", feature_names=["visits", "spend"],
                      rename_outputs={"visits": "visits_today"}, default_values={"spend": 0.0}),
        FeatureLookup(profile, "customer_id"),
        FeatureFunction(udf_name=platform.full_name("fc_tenure"), input_bindings={"signup": "signup", "at": "at"},
                        output_name="tenure"),
    ])
    rows = {r.customer_id: r for r in ts.load_df().collect()}
    assert ts.load_df().columns == ["customer_id", "at", "y", "visits_today", "spend", "country", "tenure"]
    assert rows["c1"].visits_today == 4 and rows["c1"].tenure == (D + dt.timedelta(days=1) - dt.date(2024, 1, 1)).days
    assert rows["c9"].visits_today is None and rows["c9"].spend == 0.0 and rows["c9"].country is None
    assert ts.feature_columns == ["visits_today", "spend", "country", "signup", "tenure"]
    assert set(ts.table_versions) == {daily, profile}


def test_training_set_refuses_to_overwrite_a_column(platform, fe, profile):
    df = platform.spark.createDataFrame([], "customer_id STRING, country STRING")
    with pytest.raises(ValueError, match="would overwrite column 'country'"):
        fe.create_training_set(df=df, label=None, feature_lookups=[FeatureLookup(profile, "customer_id")])


def test_log_model_packages_the_lookups_and_score_batch_replays_them(platform, fe, daily, profile):
    import mlflow
    import numpy as np
    from mlflow.models import infer_signature
    from sklearn.linear_model import LinearRegression

    spark = platform.spark
    platform.experiment("feature-client-tests")
    labels = spark.createDataFrame([("c1", D, 1.0), ("c1", D + dt.timedelta(days=1), 2.0), ("c2", D, 0.5)],
                                   "customer_id STRING, at DATE, y DOUBLE")
    ts = fe.create_training_set(df=labels, label="y", exclude_columns=["customer_id", "at"], feature_lookups=[
        FeatureLookup(daily, "customer_id", timestamp_lookup_key="at", feature_names=["visits", "spend"]),
    ])
    train = ts.load_df().toPandas()
    X, y = train[["visits", "spend"]].astype("float64"), train["y"]
    model = LinearRegression().fit(X, y)
    with mlflow.start_run():
        info = fe.log_model(model=model, artifact_path="model", flavor=mlflow.sklearn, training_set=ts,
                            signature=infer_signature(X, model.predict(X)), pip_requirements=["scikit-learn"])
    assert mlflow.pyfunc.load_model(info.model_uri).predict(X).shape == (3,)
    scored = fe.score_batch(model_uri=info.model_uri,
                            df=labels.select("customer_id", "at").withColumn("spend", spark_lit(5.0)))
    rows = {(r.customer_id, r.at): r for r in scored.collect()}
    assert set(scored.columns) == {"customer_id", "at", "spend", "visits", "prediction"}
    first = rows[("c1", D)]
    expected = model.predict(np.array([[float(first.visits), 5.0]]))[0]   # df's own spend overrides the lookup
    assert first.prediction == pytest.approx(expected)


def spark_lit(value):
    from pyspark.sql import functions as F
    return F.lit(value)


def test_log_model_accepts_a_pyfunc_model_from_code(platform, fe, daily, tmp_path):
    import mlflow
    import pandas as pd
    from mlflow.models import infer_signature

    spark = platform.spark
    platform.experiment("feature-client-tests")
    code = tmp_path / "doubler.py"
    code.write_text("import mlflow\n\n\nclass Doubler(mlflow.pyfunc.PythonModel):\n"
                    "    def predict(self, context, model_input, params=None):\n"
                    "        return model_input['visits'].astype('float64') * 2.0\n\n\n"
                    "mlflow.models.set_model(Doubler())\n")
    labels = spark.createDataFrame([("c2", D, 1.0)], "customer_id STRING, at DATE, y DOUBLE")
    ts = fe.create_training_set(df=labels, label="y", exclude_columns=["customer_id", "at"], feature_lookups=[
        FeatureLookup(daily, "customer_id", timestamp_lookup_key="at", feature_names=["visits"])])
    example = pd.DataFrame({"visits": [3]}).astype("int32")
    with mlflow.start_run():
        info = fe.log_model(model=str(code), artifact_path="model", flavor=mlflow.pyfunc, training_set=ts,
                            signature=infer_signature(example, pd.Series([6.0])), input_example=example,
                            pip_requirements=["mlflow"])
    assert info.signature is not None
    assert list(mlflow.pyfunc.load_model(info.model_uri).predict(example)) == [6.0]
    scored = fe.score_batch(model_uri=info.model_uri, df=labels.select("customer_id", "at")).first()
    assert scored.prediction == 2.0 * scored.visits
