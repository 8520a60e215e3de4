"""Contract tests of the Databricks platform adapter against a fake workspace (no network).

What a live workspace would receive is asserted call by call: the user lookup, the CREATE SCHEMA and
CREATE VOLUME statements, the experiment folder, secret reads, the Feature Engineering client and
Databricks Connect. CI never reaches a workspace; these tests are the proof the README refers to.
"""
from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from lakeprep.config import load_settings
from lakeprep.errors import LakeprepError
from lakeprep.platform import get_platform
from lakeprep.platform.base import Secret
from lakeprep.platform.databricks import (DatabricksPlatform, default_schema, inject_job_parameters,
                                          job_parameters, secret_variable, short_name)
from tests.conftest import REPO
from tests.fixtures.databricks.fakes import (USER, FakeDbutils, FakeSpark, FakeWorkspace, Recorder,
                                             connect_module, feature_engineering_module)

CLUSTER = {"DATABRICKS_RUNTIME_VERSION": "17.3"}
LAPTOP = {"DATABRICKS_HOST": "https://lakeprep-test.cloud.databricks.com",
          "DATABRICKS_TOKEN": "not-a-real-token", "DATABRICKS_CONFIG_FILE": "/nonexistent/cfg"}


def make(ws=None, *, catalog="main", schema="", environ=None, spark=None, dbutils=None,
         mlflow_client=None):
    environ = dict(CLUSTER if environ is None else environ)
    return DatabricksPlatform(load_settings("databricks", environ=environ), catalog=catalog,
                              schema=schema, environ=environ,
                              workspace=ws if ws is not None else FakeWorkspace(),
                              spark=spark, dbutils=dbutils, mlflow_client=mlflow_client)


@pytest.fixture
def no_catalog_env(monkeypatch):
    for name in ("LAKEPREP_CATALOG", "LAKEPREP_SCHEMA"):
        monkeypatch.delenv(name, raising=False)


# -- get_platform and names --------------------------------------------------------------------

def test_get_platform_gives_the_databricks_adapter_with_uc_names(no_catalog_env):
    p = get_platform("databricks", catalog="main", schema="lakeprep_jane")
    assert isinstance(p, DatabricksPlatform) and p.target == "databricks"
    assert p.table("silver_events") == "main.lakeprep_jane.silver_events"
    assert p.full_name("churn_labels") == "main.lakeprep_jane.churn_labels"
    assert p.model_name("churn_model") == "main.lakeprep_jane.churn_model"
    assert p.path("checkpoints", "stream") == "/Volumes/main/lakeprep_jane/lab_files/checkpoints/stream"
    assert (p.tracking_uri, p.registry_uri) == ("databricks", "databricks-uc")


def test_catalog_can_come_from_the_environment(no_catalog_env):
    p = get_platform("databricks", schema="s1", environ={"LAKEPREP_CATALOG": "training"})
    assert p.table("t") == "training.s1.t"


def test_missing_catalog_names_every_place_to_set_it(no_catalog_env):
    with pytest.raises(LakeprepError) as caught:
        get_platform("databricks", schema="s1")
    message = str(caught.value)
    for place in ("`catalog` parameter", "LAKEPREP_CATALOG", "lakeprep/config/databricks.yml"):
        assert place in message


def test_default_schema_comes_from_the_current_user():
    ws = FakeWorkspace(user="jane.doe@example.com")
    p = make(ws)
    assert p.schema == "lakeprep_jane_doe"
    assert p.table("t") == "main.lakeprep_jane_doe.t"
    assert [(c.method, c.path) for c in ws.calls] == [("GET", "/api/2.0/preview/scim/v2/Me")]


@pytest.mark.parametrize("user, display, expected", [
    # the Databricks CLI's GetShortUserName cases (bundle `${workspace.current_user.short_name}`)
    ("test.user.1234@example.com", "", "test_user_1234"),
    ("test$.user@example.com", "", "test_user"),
    ("first+tag@email.com", "", "first_tag"),
    ('"_quoted"@domain.com', "", "quoted"),
    ("name-o'mally@website.org", "", "name_o_mally"),
    ("1706906c-c0a2-4c25-9f57-3a7aa3cb8123", "my-service-principal", "my_service_principal"),
    ("1706906c-c0a2-4c25-9f57-3a7aa3cb8123", "", "1706906c_c0a2_4c25_9f57_3a7aa3cb8123"),
])
def test_short_name_matches_the_bundle_cli(user, display, expected):
    assert short_name(user, display) == expected
    assert default_schema(user, display) == f"lakeprep_{expected}"


def test_an_explicit_schema_needs_no_workspace_call():
    ws = FakeWorkspace()
    assert make(ws, schema="course").schema == "course"
    assert ws.calls == []


@pytest.mark.parametrize("bad", ["../etc", "/abs", "a/../b", ""])
def test_paths_stay_inside_the_volume(bad):
    with pytest.raises(LakeprepError, match="without '..'"):
        make(schema="s").path("ok", bad)


# -- Spark, schema and volume ------------------------------------------------------------------

def test_cluster_session_is_the_active_one_and_schema_and_volume_are_created(monkeypatch):
    from pyspark.sql import SparkSession

    fake = FakeSpark()
    monkeypatch.setattr(SparkSession, "getActiveSession", staticmethod(lambda: fake))
    p = make()
    assert p.spark is fake
    assert fake.statements == ["CREATE SCHEMA IF NOT EXISTS main.lakeprep_jane_doe",
                               "CREATE VOLUME IF NOT EXISTS main.lakeprep_jane_doe.lab_files"]


def test_existing_schema_is_used_when_create_is_not_allowed():
    spark = FakeSpark(fail=(r"^CREATE SCHEMA",))
    p = make(schema="shared", spark=spark)
    p.spark
    assert spark.statements == ["CREATE SCHEMA IF NOT EXISTS main.shared", "DESCRIBE SCHEMA main.shared",
                                "CREATE VOLUME IF NOT EXISTS main.shared.lab_files"]


def test_missing_privileges_are_named():
    spark = FakeSpark(fail=(r"^CREATE SCHEMA", r"^DESCRIBE SCHEMA"))
    with pytest.raises(LakeprepError) as caught:
        make(schema="s", spark=spark).spark
    assert "USE CATALOG on main and CREATE SCHEMA" in str(caught.value)
    assert "INSUFFICIENT_PERMISSIONS" in str(caught.value)


def test_laptop_uses_databricks_connect(monkeypatch):
    spark, recorder = FakeSpark(), Recorder()
    monkeypatch.setitem(sys.modules, "databricks.connect", connect_module(spark, recorder))
    p = make(schema="s", environ=LAPTOP)
    assert p.spark is spark
    assert recorder.calls == [("DatabricksSession.builder.getOrCreate",)]
    assert spark.statements[0] == "CREATE SCHEMA IF NOT EXISTS main.s"


def test_laptop_without_databricks_connect_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "databricks.connect", None)  # import fails
    with pytest.raises(LakeprepError, match="databricks-connect"):
        make(schema="s", environ=LAPTOP).spark


@pytest.mark.parametrize("environ, setting", [
    ({"DATABRICKS_CONFIG_FILE": "/nonexistent/cfg"}, "DATABRICKS_HOST"),
    ({"DATABRICKS_HOST": "https://x.cloud.databricks.com", "DATABRICKS_CONFIG_FILE": "/nonexistent/cfg"},
     "DATABRICKS_TOKEN"),
])
def test_missing_host_or_token_names_the_setting(environ, setting):
    p = DatabricksPlatform(load_settings("databricks", environ=environ), catalog="main",
                           schema="s", environ=environ)
    with pytest.raises(LakeprepError) as caught:
        p.workspace
    assert f"{setting} is not set" in str(caught.value)
    assert "~/.databrickscfg" in str(caught.value)


def test_a_config_profile_is_left_to_the_sdk(tmp_path):
    config = tmp_path / "databrickscfg"
    config.write_text("[DEFAULT]\nhost = https://x.cloud.databricks.com\n")
    p = make(schema="s", environ={"DATABRICKS_CONFIG_FILE": str(config)})
    p.check_connection()  # no error: the SDK reads the profile


# -- MLflow --------------------------------------------------------------------------------------

def test_experiments_live_in_the_users_folder(monkeypatch):
    import mlflow

    ws = FakeWorkspace()
    p = make(ws, schema="s")
    created = []
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI"):
        monkeypatch.setenv(name, "restored-after-the-test")
    monkeypatch.setattr(mlflow, "set_tracking_uri", lambda uri: created.append(("tracking", uri)))
    monkeypatch.setattr(mlflow, "set_registry_uri", lambda uri: created.append(("registry", uri)))
    monkeypatch.setattr(mlflow, "get_experiment_by_name", lambda path: None)
    monkeypatch.setattr(mlflow, "create_experiment",
                        lambda path, **kw: created.append(("create", path, kw)) or "42")
    monkeypatch.setattr(mlflow, "set_experiment", lambda **kw: created.append(("set", kw)))
    assert p.experiment_path("churn-training") == f"/Users/{USER}/lakeprep/churn-training"
    assert p.experiment("churn-training") == "42"
    mkdirs = ws.requests("POST", "/workspace/mkdirs")
    assert [c.body for c in mkdirs] == [{"path": f"/Users/{USER}/lakeprep"}]
    assert ("tracking", "databricks") in created and ("registry", "databricks-uc") in created
    assert ("create", f"/Users/{USER}/lakeprep/churn-training", {}) in created
    assert ("set", {"experiment_id": "42"}) in created


# -- secrets ---------------------------------------------------------------------------------------

def test_secret_on_a_cluster_comes_from_dbutils():
    dbutils = FakeDbutils(secrets={("lakeprep", "slack_webhook"): "https://hooks.example/abc"})
    s = make(schema="s", dbutils=dbutils).secret("slack_webhook")
    assert isinstance(s, Secret) and s.get() == "https://hooks.example/abc"
    assert dbutils.calls == [("secrets.get", "lakeprep", "slack_webhook")]
    assert "abc" not in repr(s) and "REDACTED" in repr(s) and "abc" not in str(s)


def test_secret_from_a_laptop_uses_the_secrets_api_and_decodes_base64():
    ws = FakeWorkspace(secrets={("lakeprep", "api_key"): "s3cr3t-value"})
    s = make(ws, schema="s", environ=LAPTOP).secret("api_key")
    assert s.get() == "s3cr3t-value"
    (call,) = ws.requests("GET", "/secrets/get")
    assert call.query == {"scope": "lakeprep", "key": "api_key"}


def test_secret_falls_back_to_the_environment():
    environ = {**CLUSTER, "LAKEPREP_SECRET_API_KEY": "from-env"}
    assert make(schema="s", environ=environ, dbutils=FakeDbutils()).secret("api-key").get() == "from-env"
    assert secret_variable("api-key") == "LAKEPREP_SECRET_API_KEY"


def test_missing_secret_names_scope_key_and_variable_but_no_value():
    with pytest.raises(LakeprepError) as caught:
        make(schema="s", dbutils=FakeDbutils()).secret("api_key")
    message = str(caught.value)
    assert "'lakeprep'" in message and "api_key" in message and "LAKEPREP_SECRET_API_KEY" in message
    assert "databricks secrets put-secret lakeprep api_key" in message


# -- Feature Engineering ------------------------------------------------------------------------

def test_feature_client_is_the_real_client_behind_the_labs_calls(monkeypatch):
    recorder = Recorder()
    monkeypatch.setitem(sys.modules, "databricks.feature_engineering", feature_engineering_module(recorder))
    from lakeprep.features import feature_client

    p = make(schema="s")
    fe = feature_client(p)     # the labs' entry point dispatches to p.feature_client()
    assert isinstance(fe, sys.modules["databricks.feature_engineering"].FeatureEngineeringClient)
    fe.create_table(name=p.full_name("customer_profile_features"), primary_keys=["customer_id"],
                    description="static profile")
    assert recorder.calls[0] == ("__init__", {})
    assert recorder.calls[1] == ("create_table", (), {"name": "main.s.customer_profile_features",
                                                      "primary_keys": ["customer_id"],
                                                      "description": "static profile"})


def test_feature_client_missing_package_says_where_to_get_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "databricks.feature_engineering", None)
    with pytest.raises(LakeprepError) as caught:
        make(schema="s").feature_client()
    assert "databricks-feature-engineering" in str(caught.value)
    assert "Machine Learning" in str(caught.value)


def test_feature_client_refuses_outside_a_runtime(monkeypatch):
    monkeypatch.setitem(sys.modules, "databricks.feature_engineering", feature_engineering_module(Recorder()))
    with pytest.raises(LakeprepError, match="only on a Databricks runtime"):
        make(schema="s", environ=LAPTOP).feature_client()


# -- job parameters and evidence ---------------------------------------------------------------

def test_job_parameters_come_from_widgets_on_a_runtime():
    cell = {"target": "local", "scale": "small", "seed": 42, "catalog": "", "schema": ""}
    dbutils = FakeDbutils(widgets={"target": "databricks", "catalog": "main", "seed": "7", "scale": ""})
    merged = job_parameters(cell, environ=CLUSTER, dbutils=dbutils)
    assert merged == {"target": "databricks", "scale": "small", "seed": 7, "catalog": "main", "schema": ""}


def test_job_parameters_reach_the_notebooks_globals_like_papermills_injected_cell():
    cell = {"target": "local", "scale": "small", "seed": 42, "catalog": "", "schema": ""}
    notebook = dict(cell, spark=object())
    merged = inject_job_parameters(cell, environ=CLUSTER, namespace=notebook,
                                   dbutils=FakeDbutils(widgets={"target": "databricks", "catalog": "main"}))
    assert merged["target"] == notebook["target"] == "databricks"
    assert notebook["catalog"] == "main" and notebook["seed"] == 42 and "spark" in notebook


def test_job_parameters_leave_the_cell_alone_elsewhere():
    cell = {"target": "local", "scale": "small", "seed": 42, "catalog": "", "schema": ""}
    assert job_parameters(cell, environ={}) == cell


def test_environment_records_where_it_ran_without_credentials():
    info = make(schema="s", spark=FakeSpark()).environment()
    assert info["target"] == "databricks" and info["databricks_runtime"] == "17.3"
    assert info["connection"] == "cluster" and info["spark"] == "4.0.0"
    assert not any("token" in str(k).lower() for k in info)


def test_the_local_path_never_imports_databricks_packages():
    code = textwrap.dedent("""
        import sys
        import lakeprep.platform, lakeprep.platform.databricks, lakeprep.platform.serving_databricks
        from lakeprep.platform.databricks import job_parameters
        job_parameters({"target": "local"}, environ={})
        from lakeprep.platform import get_platform
        get_platform("local")
        print(sorted(m for m in sys.modules if m == "databricks" or m.startswith("databricks.")))
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "[]"


# -- lab 5's capture and monitoring calls ---------------------------------------------------------

def test_lab5_capture_goes_to_an_ai_gateway_table_and_the_monitor_is_an_inference_log():
    from tests.fixtures.databricks.fakes import FakeMlflowClient

    ws = FakeWorkspace()
    model = "main.s.churn_model"
    p = make(ws, schema="s", mlflow_client=FakeMlflowClient({(model, "champion"): 3}))
    endpoint = p.endpoint(f"{model}@champion").start()
    # the two calls lab 5 makes, unchanged
    table = p.capture_requests(endpoint)
    monitoring = p.monitor_predictions("churn_predictions", prediction_col="prediction",
                                       model_id_col="model_version", timestamp_col="scored_at")
    (gateway,) = ws.requests("PUT", "/ai-gateway$")
    assert gateway.path == f"/api/2.0/serving-endpoints/{endpoint.name}/ai-gateway"
    prefix = endpoint.name.replace("-", "_")
    assert gateway.body["inference_table_config"] == {"catalog_name": "main", "schema_name": "s",
                                                      "table_name_prefix": prefix, "enabled": True}
    assert table == f"main.s.{prefix}_payload"
    (create,) = ws.requests("POST", r"/monitor$")
    assert create.path == "/api/2.1/unity-catalog/tables/main.s.churn_predictions/monitor"
    assert create.body["inference_log"] == {"problem_type": "PROBLEM_TYPE_REGRESSION", "timestamp_col": "scored_at",
                                            "granularities": ["1 day"], "prediction_col": "prediction",
                                            "model_id_col": "model_version"}
    assert ws.requests("POST", "/refreshes$")
    assert monitoring["table"] == "main.s.churn_predictions"
    assert monitoring["metrics_table"] == "main.s.churn_predictions_drift_metrics"


def test_lab5_capture_and_monitor_locally_point_to_the_tables_the_lab_writes():
    from lakeprep.platform.local import LocalPlatform

    p = LocalPlatform(load_settings("local"), schema="lab5check")
    assert p.capture_requests(endpoint=None) == p.table("inference_log")
    assert p.monitor_predictions("churn_predictions", prediction_col="prediction", model_id_col="model_version",
                                 timestamp_col="scored_at")["metrics_table"] == p.table("drift_metrics")
