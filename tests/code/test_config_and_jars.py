"""Settings, names, secrets and the Delta JAR cache: the parts of the platform without Spark."""
import json
import os

import pytest

from lakeprep import jars
from lakeprep.config import load_settings
from lakeprep.errors import LakeprepError
from lakeprep.platform import get_platform
from lakeprep.platform.base import Secret


def test_environment_overrides_the_yaml():
    settings = load_settings("local", environ={"LAKEPREP_CATALOG": "dev", "LAKEPREP_HOME": "/tmp/x"})
    assert settings["catalog"] == "dev"
    assert str(settings.path("workspace")) == "/tmp/x"


def test_unknown_target_lists_the_valid_ones():
    with pytest.raises(LakeprepError, match="valid values: local, databricks"):
        get_platform("laptop")


def test_three_level_names_map_onto_local_databases():
    p = get_platform("local", catalog="main", schema="alice")
    assert p.full_name("churn_model") == "main.alice.churn_model"
    assert p.model_name("churn_model") == "main.alice.churn_model"
    assert p.table("silver_events") == "main_alice.silver_events"
    with pytest.raises(LakeprepError, match="pass the bare name"):
        p.table("main.alice.silver_events")
    with pytest.raises(LakeprepError, match="not a valid name"):
        get_platform("local", schema="alice; DROP TABLE x")


def test_mlflow_store_is_sqlite_at_an_absolute_path_inside_the_workspace(tmp_path):
    p = get_platform("local", environ={"LAKEPREP_HOME": str(tmp_path)})
    assert p.tracking_uri == f"sqlite:///{tmp_path}/mlflow/mlflow.db"
    assert p.registry_uri == p.tracking_uri
    assert p._experiment_kwargs("churn")["artifact_location"].startswith(f"file://{tmp_path}/mlflow/")


def test_secrets_come_from_the_environment_and_never_print(monkeypatch):
    p = get_platform("local")
    monkeypatch.setenv("LAKEPREP_SECRET_ENDPOINT_TOKEN", "s3cr3t-value")
    secret = p.secret("endpoint-token")
    assert secret.get() == "s3cr3t-value"
    assert "s3cr3t" not in repr(secret) and "s3cr3t" not in str(secret)
    assert "s3cr3t" not in f"{secret}"
    monkeypatch.delenv("LAKEPREP_SECRET_ENDPOINT_TOKEN")
    with pytest.raises(LakeprepError, match="export LAKEPREP_SECRET_ENDPOINT_TOKEN="):
        p.secret("endpoint-token")
    assert isinstance(secret, Secret)


def test_coordinates_follow_the_installed_packages():
    from importlib import metadata
    artifacts = jars.installed_artifacts()
    spark_minor = ".".join(metadata.version("pyspark").split(".")[:2])
    assert artifacts.coordinate == f"io.delta:delta-spark_{spark_minor}_2.13:{metadata.version('delta-spark')}"
    assert artifacts.storage_coordinate == f"io.delta:delta-storage:{metadata.version('delta-spark')}"
    assert jars.compatibility_problem() is None


def test_cache_holds_delta_spark_and_delta_storage():
    cached = jars.cached_jars()
    assert cached, "run `make jars` first"
    names = {p.name for p in cached}
    version = jars.installed_artifacts().delta_version
    assert any(n.startswith("io.delta_delta-spark_") and version in n for n in names)
    assert f"io.delta_delta-storage-{version}.jar" in names


def test_incomplete_cache_is_not_trusted(tmp_path):
    settings = load_settings("local", environ={"LAKEPREP_JAR_CACHE": str(tmp_path)})
    folder = jars.cache_folder(settings)
    (folder / "jars").mkdir(parents=True)
    (folder / "manifest.json").write_text(json.dumps({"jars": ["missing.jar"]}))
    assert jars.cached_jars(settings) is None


def test_offline_fetch_names_the_artifact_and_how_to_seed_the_cache(tmp_path):
    # A closed loopback port stands in for an unreachable Maven Central.
    settings = load_settings("local", environ={"LAKEPREP_JAR_CACHE": str(tmp_path / "cache"),
                                               "LAKEPREP_MAVEN_REPO": "http://127.0.0.1:9/maven2/"})
    with pytest.raises(LakeprepError) as caught:
        jars.fetch(settings, quiet=True)
    message = str(caught.value)
    assert jars.installed_artifacts().coordinate in message
    assert "io.delta:delta-storage" in message
    assert "seed the cache offline" in message and "manifest.json" in message
    assert jars.cached_jars(settings) is None


def test_fetch_is_a_no_op_when_cached(capsys):
    assert jars.fetch() == jars.cached_jars()
    assert "already cached" in capsys.readouterr().out
