"""Contract tests of Model Serving, inference tables and monitors on the databricks target.

The fake workspace runs the real SDK service classes over a recording transport, so each body
asserted here is the REST payload a workspace would receive (no network).
"""
from __future__ import annotations

import json

import pandas as pd
import pytest

from lakeprep.errors import LakeprepError
from lakeprep.platform.serving_databricks import (DatabricksEndpoint, DatabricksServing, ServedVersion,
                                                  check_traffic, served_name, status_of)
from tests.fixtures.databricks.fakes import USER, FakeMlflowClient, FakeWorkspace

MODEL = "main.lakeprep_jane_doe.churn_model"


class Clock:
    """Time that only moves when the code under test sleeps."""

    def __init__(self):
        self.now, self.sleeps = 0.0, []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def make(ws=None, aliases=None, clock=None):
    ws = ws or FakeWorkspace()
    clock = clock or Clock()
    mlflow = FakeMlflowClient(aliases if aliases is not None else {(MODEL, "champion"): 3,
                                                                   (MODEL, "challenger"): 4})
    serving = DatabricksServing(ws, catalog="main", schema="lakeprep_jane_doe", user=USER,
                                mlflow_client=lambda: mlflow, sleep=clock.sleep, clock=clock)
    return serving, ws, mlflow


def entity(version, size="Small", scale_to_zero=True):
    return {"name": f"churn_model-{version}", "entity_name": MODEL, "entity_version": str(version),
            "workload_size": size, "scale_to_zero_enabled": scale_to_zero}


def routes(**shares):
    return {"routes": [{"served_model_name": name.replace("_v", "-"), "traffic_percentage": share}
                       for name, share in shares.items()]}


# -- deploy ------------------------------------------------------------------------------------

def test_create_sends_served_entities_and_a_full_route_then_waits_until_ready():
    clock = Clock()
    serving, ws, _ = make(FakeWorkspace(not_ready_polls=2), clock=clock)
    ready = serving.deploy("lakeprep-churn", [ServedVersion(MODEL, "3")])
    (create,) = ws.requests("POST", r"^/api/2\.0/serving-endpoints$")
    assert create.body == {"name": "lakeprep-churn", "config": {
        "name": "lakeprep-churn", "served_entities": [entity(3)],
        "traffic_config": routes(churn_model_v3=100)}}
    gets = ws.requests("GET", r"serving-endpoints/lakeprep-churn$")
    assert len(gets) == 1 + 3        # the existence check, then two NOT_READY polls and a READY one
    assert len(clock.sleeps) == 2
    assert ready.state.ready.value == "READY"


def test_an_applied_update_is_not_enough_the_endpoint_must_be_ready():
    clock = Clock()
    serving, ws, _ = make(FakeWorkspace(ready_lag=2), clock=clock)
    serving.deploy("lakeprep-churn", [ServedVersion(MODEL, "3")])
    assert len(ws.requests("GET", r"serving-endpoints/lakeprep-churn$")) == 1 + 3
    assert len(clock.sleeps) == 2       # two polls said NOT_UPDATING but NOT_READY


def test_an_existing_endpoint_gets_its_config_updated_not_recreated():
    serving, ws, _ = make()
    serving.deploy("lakeprep-churn", [ServedVersion(MODEL, "3")])
    serving.deploy("lakeprep-churn", [ServedVersion(MODEL, "5", workload_size="Medium", scale_to_zero=False)])
    assert len(ws.requests("POST", r"^/api/2\.0/serving-endpoints$")) == 1
    (update,) = ws.requests("PUT", r"/config$")
    assert update.path == "/api/2.0/serving-endpoints/lakeprep-churn/config"
    assert update.body == {"served_entities": [entity(5, "Medium", False)],
                           "traffic_config": routes(churn_model_v5=100)}


def test_canary_resolves_aliases_by_three_level_name_and_splits_90_10():
    serving, ws, mlflow = make()
    champion = serving.resolve("churn_model", "champion")
    challenger = serving.resolve(MODEL, "challenger")
    serving.canary("lakeprep-churn", champion, challenger, challenger_percent=10)
    assert mlflow.calls == [("get_model_version_by_alias", MODEL, "champion"),
                            ("get_model_version_by_alias", MODEL, "challenger")]
    (create,) = ws.requests("POST", r"^/api/2\.0/serving-endpoints$")
    config = create.body["config"]
    assert config["served_entities"] == [entity(3), entity(4)]
    assert config["traffic_config"] == routes(churn_model_v3=90, churn_model_v4=10)
    assert sum(r["traffic_percentage"] for r in config["traffic_config"]["routes"]) == 100


def test_a_version_number_needs_no_registry_call():
    serving, _, mlflow = make()
    assert serving.resolve("churn_model", "7") == ServedVersion(MODEL, "7")
    assert mlflow.calls == []


def test_an_unknown_alias_is_named():
    serving, ws, _ = make(aliases={})
    with pytest.raises(LakeprepError, match=f"alias 'champion' does not exist on {MODEL}"):
        serving.resolve("churn_model", "champion")
    assert ws.calls == []


@pytest.mark.parametrize("traffic, message", [
    ({"churn_model-3": 90, "churn_model-4": 20}, "add up to 110, not 100"),
    ({"churn_model-3": 50, "churn_model-4": 40}, "add up to 90, not 100"),
    ({"churn_model-3": 100, "churn_model-9": 0}, "names no served entity"),
    ({"churn_model-3": 50.5, "churn_model-4": 49.5}, "whole percentage"),
    ({"churn_model-3": 110, "churn_model-4": -10}, "whole percentage"),
    ({"churn_model-3": True, "churn_model-4": 99}, "whole percentage"),
    ({}, "give {served entity name: percentage}"),
])
def test_a_bad_split_is_rejected_before_any_call(traffic, message):
    serving, ws, _ = make()
    with pytest.raises(LakeprepError, match=message.replace("{", r"\{").replace("}", r"\}")):
        serving.deploy("lakeprep-churn", [ServedVersion(MODEL, "3"), ServedVersion(MODEL, "4")], traffic)
    assert ws.calls == []


def test_two_versions_without_a_split_are_refused():
    serving, ws, _ = make()
    with pytest.raises(LakeprepError, match="say how traffic is split"):
        serving.deploy("lakeprep-churn", [ServedVersion(MODEL, "3"), ServedVersion(MODEL, "4")])
    assert ws.calls == []


def test_set_traffic_keeps_the_entities_and_rejects_bad_splits_before_updating():
    serving, ws, _ = make()
    serving.canary("lakeprep-churn", ServedVersion(MODEL, "3"), ServedVersion(MODEL, "4"), 10)
    with pytest.raises(LakeprepError, match="add up to 120"):
        serving.set_traffic("lakeprep-churn", {"churn_model-3": 20, "churn_model-4": 100})
    assert ws.requests("PUT") == []
    serving.set_traffic("lakeprep-churn", {"churn_model-3": 0, "churn_model-4": 100})
    (update,) = ws.requests("PUT", r"/config$")
    assert [e["name"] for e in update.body["served_entities"]] == ["churn_model-3", "churn_model-4"]
    assert update.body["traffic_config"] == routes(churn_model_v3=0, churn_model_v4=100)


def test_check_traffic_accepts_exactly_100():
    assert check_traffic({"a": 70, "b": 30}, ["a", "b"]) == [("a", 70), ("b", 30)]
    assert served_name(MODEL, 12) == "churn_model-12"


def test_a_failed_update_stops_the_wait_with_the_entity_message():
    ws = FakeWorkspace()
    serving, ws, _ = make(ws)
    serving.deploy("lakeprep-churn", [ServedVersion(MODEL, "3")])
    ws.fail_update = True
    with pytest.raises(LakeprepError) as caught:
        serving.deploy("lakeprep-churn", [ServedVersion(MODEL, "4")])
    assert "UPDATE_FAILED" in str(caught.value) and "image build failed" in str(caught.value)


def test_waiting_gives_up_after_the_timeout():
    clock = Clock()
    serving, ws, _ = make(FakeWorkspace(not_ready_polls=1000), clock=clock)
    with pytest.raises(LakeprepError, match="was not ready after 60 s"):
        serving.deploy("lakeprep-churn", [ServedVersion(MODEL, "3")], timeout_s=60)
    assert clock.now >= 60


def test_scale_to_zero_and_delete():
    serving, ws, _ = make()
    serving.canary("lakeprep-churn", ServedVersion(MODEL, "3", scale_to_zero=False),
                   ServedVersion(MODEL, "4", scale_to_zero=False), 25)
    serving.scale_to_zero("lakeprep-churn")
    (update,) = ws.requests("PUT", r"/config$")
    assert [e["scale_to_zero_enabled"] for e in update.body["served_entities"]] == [True, True]
    assert update.body["traffic_config"] == routes(churn_model_v3=75, churn_model_v4=25)
    assert serving.delete("lakeprep-churn") is True
    assert ws.requests("DELETE")[0].path == "/api/2.0/serving-endpoints/lakeprep-churn"
    assert serving.delete("lakeprep-churn") is False


# -- queries -------------------------------------------------------------------------------------

@pytest.fixture
def frame():
    return pd.DataFrame({"sessions_30d": [3, 0], "country": ["DE", "FR"]})


@pytest.mark.parametrize("fmt, expected", [
    ("dataframe_split", {"dataframe_split": {"columns": ["sessions_30d", "country"],
                                             "data": [[3, "DE"], [0, "FR"]]}}),
    ("dataframe_records", {"dataframe_records": [{"sessions_30d": 3, "country": "DE"},
                                                 {"sessions_30d": 0, "country": "FR"}]}),
    ("inputs", {"inputs": {"sessions_30d": [3, 0], "country": ["DE", "FR"]}}),
])
def test_query_sends_each_format_through_the_sdk(frame, fmt, expected):
    from lakeprep.serving import payload

    serving, ws, _ = make(FakeWorkspace(predictions=(0.1, 0.9)))
    serving.deploy("lakeprep-churn", [ServedVersion(MODEL, "3")])
    reply = serving.query("lakeprep-churn", payload(frame, fmt))
    (call,) = ws.requests("POST", "/invocations$")
    assert call.path == "/serving-endpoints/lakeprep-churn/invocations"
    sent = dict(call.body)
    assert sent.pop("client_request_id") == reply.request_id
    assert sent == expected
    assert reply.ok and reply.body == {"predictions": [0.1, 0.9]} and reply.model_version == "3"


@pytest.mark.parametrize("body, data", [
    ({"dataframe_split": {"columns": ["a"], "data": [[1]]}, "inputs": {"a": [1]}}, None),
    ({"rows": [{"a": 1}]}, None),
    (None, '{"dataframe_split": {"columns": ["a"], "data": [[1]'),
])
def test_bad_requests_get_the_endpoints_own_400(body, data):
    serving, ws, _ = make()
    serving.deploy("lakeprep-churn", [ServedVersion(MODEL, "3")])
    reply = serving.query("lakeprep-churn", body, data=data)
    assert reply.status == 400 and not reply.ok and reply.error
    (call,) = ws.requests("POST", "/invocations$")
    assert call.data is not None        # sent as it is, so the verdict is the endpoint's


def test_error_statuses_follow_the_sdk_error_classes():
    from databricks.sdk import errors

    assert status_of(errors.ResourceDoesNotExist("x")) == 404
    assert status_of(errors.InvalidParameterValue("x")) == 400
    assert status_of(errors.RequestLimitExceeded("x")) == 429
    assert status_of(ConnectionError("x")) == 599


# -- inference capture and monitoring ----------------------------------------------------------

def test_inference_table_goes_through_ai_gateway():
    serving, ws, _ = make()
    serving.deploy("lakeprep-churn", [ServedVersion(MODEL, "3")])
    table = serving.enable_inference_table("lakeprep-churn", prefix="churn_endpoint")
    (call,) = ws.requests("PUT", "/ai-gateway$")
    assert call.path == "/api/2.0/serving-endpoints/lakeprep-churn/ai-gateway"
    assert call.body == {"inference_table_config": {
        "catalog_name": "main", "schema_name": "lakeprep_jane_doe",
        "table_name_prefix": "churn_endpoint", "enabled": True}}
    assert table == "main.lakeprep_jane_doe.churn_endpoint_payload"
    assert not any("auto_capture_config" in json.dumps(c.body or {}) for c in ws.calls)


def test_quality_monitor_is_an_inference_log_in_the_learners_schema():
    serving, ws, _ = make()
    info = serving.create_monitor("churn_predictions", prediction_col="prediction",
                                  model_id_col="model_version", timestamp_col="scored_at",
                                  label_col="churned", granularities=("1 day", "1 week"))
    (create,) = ws.requests("POST", r"/monitor$")
    assert create.path == "/api/2.1/unity-catalog/tables/main.lakeprep_jane_doe.churn_predictions/monitor"
    assert create.body == {
        "assets_dir": f"/Workspace/Users/{USER}/lakeprep/monitors/churn_predictions",
        "output_schema_name": "main.lakeprep_jane_doe",
        "inference_log": {"problem_type": "PROBLEM_TYPE_CLASSIFICATION", "timestamp_col": "scored_at",
                          "granularities": ["1 day", "1 week"], "prediction_col": "prediction",
                          "model_id_col": "model_version", "label_col": "churned"}}
    assert info.drift_metrics_table_name == "main.lakeprep_jane_doe.churn_predictions_drift_metrics"
    serving.create_monitor("churn_predictions", prediction_col="prediction",
                           model_id_col="model_version", timestamp_col="scored_at")
    assert len(ws.requests("POST", r"/monitor$")) == 1      # an existing monitor is kept
    refresh = serving.refresh_monitor("churn_predictions")
    assert refresh.refresh_id == 1 and ws.requests("POST", "/refreshes$")


# -- the endpoint handle the labs use ------------------------------------------------------------

def test_endpoint_handle_mirrors_the_local_endpoint(frame):
    from lakeprep.inference_log import InferenceLog

    serving, ws, mlflow = make(FakeWorkspace(predictions=(0.2, 0.4)))
    ep = DatabricksEndpoint(serving, f"{MODEL}@champion")
    with ep:
        assert ep.name == "lakeprep_jane_doe-churn_model-champion"
        assert (ep.ref.name, ep.ref.alias, ep.version) == (MODEL, "champion", "3")
        assert ep.url == f"https://lakeprep-test.cloud.databricks.com/serving-endpoints/{ep.name}"
        log = InferenceLog()
        frame = frame.assign(customer_id=[101, 102])
        assert ep.predict(frame, columns=["sessions_30d", "country"], log=log) == [0.2, 0.4]
        assert log.records[0]["model_version"] == "3" and log.records[0]["model_name"] == MODEL
    assert ws.requests("DELETE")[0].path == f"/api/2.0/serving-endpoints/{ep.name}"
    assert mlflow.calls == [("get_model_version_by_alias", MODEL, "champion")]


def test_the_labs_canary_runs_unchanged_on_two_databricks_endpoints(frame):
    from lakeprep import canary

    serving, ws, _ = make()
    champion = DatabricksEndpoint(serving, f"{MODEL}@champion").start()
    challenger = DatabricksEndpoint(serving, f"{MODEL}@challenger").start()
    rows = pd.DataFrame({"customer_id": range(40), "sessions_30d": range(40)})
    result = canary.run(champion, challenger, rows, router=canary.Router(0.5, seed=1),
                        key_column="customer_id", feature_columns=["sessions_30d"])
    table = result.compare()
    assert set(table["version"]) == {"3", "4"} and table["requests"].sum() == 40
    assert table["errors"].sum() == 0


# -- the load test the labs run, aimed at a Model Serving endpoint ---------------------------------

class _StandInWorkspace:
    """A loopback HTTP server standing in for the workspace's serving front door: it records the
    path and the Authorization header of every request and answers like Model Serving."""

    def __init__(self):
        import http.server
        import threading

        seen = self.seen = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                seen.append((self.path, self.headers.get("Authorization"), len(body["dataframe_split"]["data"])))
                reply = json.dumps({"predictions": [0.5] * len(body["dataframe_split"]["data"])}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_the_labs_load_test_runs_unchanged_against_a_serving_endpoint(frame):
    from types import SimpleNamespace

    from lakeprep import loadtest

    token = "dapi-contract-test-0000"
    front = _StandInWorkspace()
    try:
        serving, ws, _ = make()
        ws.config = SimpleNamespace(host=front.url, authenticate=lambda: {"Authorization": f"Bearer {token}"})
        ep = DatabricksEndpoint(serving, f"{MODEL}@champion").start()
        rows = pd.DataFrame({"sessions_30d": range(30), "country": ["DE"] * 30})
        # the exact call lab 5 makes
        table, results = loadtest.compare(ep, rows, batch_sizes=(1, 10), concurrency=2, duration_s=2.0,
                                          max_requests=20, warmup_requests=2)
    finally:
        front.close()
    assert (table["errors"] == 0).all() and table["requests"].tolist() == [20, 20]
    paths = {path for path, _, _ in front.seen}
    assert paths == {f"/serving-endpoints/{ep.name}/invocations"}
    assert {auth for _, auth, _ in front.seen} == {f"Bearer {token}"}
    assert sorted({n for _, _, n in front.seen}) == [1, 10]
    # the credentials travel in the request only: never in what a notebook shows
    shown = repr(ep.load_target()) + table.to_string() + repr(results) + ep.where
    assert token not in shown


def test_a_workspace_load_target_is_https_on_the_workspace_host():
    from types import SimpleNamespace

    from lakeprep.loadtest import LoadTarget

    serving, ws, _ = make()
    ws.config = SimpleNamespace(host="https://lakeprep-test.cloud.databricks.com",
                                authenticate=lambda: {"Authorization": "Bearer x"})
    target = DatabricksEndpoint(serving, f"{MODEL}@champion", name="churn-ep").load_target()
    assert target == LoadTarget("https", "lakeprep-test.cloud.databricks.com", 443,
                                "/serving-endpoints/churn-ep/invocations")
    assert target.headers == {"Authorization": "Bearer x"}


@pytest.mark.parametrize("host", ["http://10.0.0.8", "ftp://lakeprep-test.cloud.databricks.com", ""])
def test_a_load_test_refuses_a_workspace_host_that_is_not_https(host):
    from types import SimpleNamespace

    serving, ws, _ = make()
    ws.config = SimpleNamespace(host=host, authenticate=lambda: {})
    with pytest.raises(LakeprepError, match="https|loopback|resolve|URL"):
        DatabricksEndpoint(serving, f"{MODEL}@champion", name="churn-ep").load_target()
