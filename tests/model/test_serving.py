"""`lakeprep serve` and `serving.endpoint`: a real `mlflow models serve` process on 127.0.0.1,
queried over HTTP in every documented format, with bad inputs rejected before anything spawns
and no process left behind after a stop, Ctrl-C or SIGTERM."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from lakeprep import serving
from lakeprep.errors import LakeprepError

sys.path.insert(0, str(Path(__file__).resolve().parent))  # pytest runs with --import-mode=importlib
from test_serving_support import (  # noqa: F401 - fixtures
    FEATURES, MODEL, champion_endpoint, cli_env, frame, listening_socket, registry,
)

REPO = Path(__file__).resolve().parents[2]


# -- model references ----------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("models:/a.b.c@champion", ("a.b.c", "champion", None)),
    ("a.b.c@challenger", ("a.b.c", "challenger", None)),
    ("models:/a.b.c/3", ("a.b.c", None, "3")),
    ("a.b.c/12", ("a.b.c", None, "12")),
])
def test_parse_model(text, expected):
    assert serving.parse_model(text) == expected


@pytest.mark.parametrize("text", ["a.b.c", "models:/a.b.c/latest", "@champion", "a/b@c"])
def test_parse_model_rejects_unclear_references(text):
    with pytest.raises(LakeprepError, match="cannot read the model"):
        serving.parse_model(text)


def test_resolve_names_the_missing_alias(registry):
    with pytest.raises(LakeprepError, match="alias 'nope'.*champion"):
        serving.resolve(f"{MODEL}@nope")
    with pytest.raises(LakeprepError, match="does not exist"):
        serving.resolve("lakeprep.course.no_such_model@champion")
    assert serving.resolve(f"{MODEL}@challenger").version == registry["challenger"]


def test_missing_alias_spawns_nothing(registry, tmp_path):
    ep = serving.Endpoint(f"models:/{MODEL}@nope", folder=tmp_path)
    with pytest.raises(LakeprepError, match="nope"):
        ep.start()
    assert ep.process is None and not list(tmp_path.glob("*.pid"))


def test_busy_port_spawns_nothing(registry, tmp_path):
    with listening_socket() as port:
        ep = serving.Endpoint(f"models:/{MODEL}@champion", port=port, folder=tmp_path)
        with pytest.raises(LakeprepError, match=f"port {port}.*busy"):
            ep.start()
    assert ep.process is None and not list(tmp_path.glob("*.pid"))


# -- a live endpoint -----------------------------------------------------------------------------

def test_endpoint_is_healthy_and_recorded(champion_endpoint, registry):
    ep = champion_endpoint
    assert ep.url.startswith("http://127.0.0.1:")
    assert ep.version == registry["champion"]
    assert requests.get(f"{ep.url}/health", timeout=5).status_code == 200
    assert requests.get(f"{ep.url}/ping", timeout=5).status_code == 200
    info = json.loads(ep.pid_file.read_text())
    assert info["pgid"] == ep.process.pid and info["port"] == ep.port
    assert info["version"] == registry["champion"]
    assert ep.log_file.exists()


@pytest.mark.parametrize("fmt", ["dataframe_split", "dataframe_records", "inputs", "instances"])
def test_every_documented_format_scores_the_same(champion_endpoint, fmt):
    rows = frame(5, seed=3)[FEATURES]
    reference = champion_endpoint.predict(rows, "dataframe_split")
    reply = champion_endpoint.query(serving.payload(rows, fmt))
    assert reply.status == 200, reply.body
    assert serving.scores(reply.body["predictions"]) == pytest.approx(reference)
    assert len(reference) == 5 and all(0.0 <= s <= 1.0 for s in reference)


def test_scores_match_the_model_in_process(champion_endpoint, registry):
    import mlflow

    rows = frame(20, seed=4)[FEATURES]
    local = mlflow.pyfunc.load_model(f"models:/{MODEL}/{registry['champion']}").predict(rows)
    assert champion_endpoint.predict(rows) == pytest.approx([p[-1] for p in local.tolist()])


def _good_record():
    return frame(1, seed=5)[FEATURES].iloc[0].to_dict()


@pytest.mark.parametrize("label, body, data, status, needle", [
    ("missing column", {"dataframe_records": [{"sessions_30d": 3, "spend_30d": 1.0}]}, None,
     400, "tickets_30d"),
    ("wrong type", {"dataframe_records": [{**{"sessions_30d": 1, "spend_30d": 2.0, "tickets_30d": 0},
                                           "sessions_30d": "three"}]}, None, 400, "sessions_30d"),
    ("malformed JSON", None, '{"dataframe_split": {"columns": [', 400, "JSON"),
    ("two format keys", {"dataframe_records": [], "inputs": {}}, None, 400, "exactly one"),
    ("top-level list", [1, 2, 3], None, 400, "list"),
])
def test_bad_payloads_get_a_400_naming_the_problem(champion_endpoint, label, body, data, status, needle):
    reply = champion_endpoint.query(body, data=data)
    assert reply.status == status, (label, reply.body)
    assert isinstance(reply.body, dict) and reply.body.get("error_code"), reply.body
    assert needle.lower() in reply.error.lower(), (label, reply.error)


def test_wrong_content_type_is_415(champion_endpoint):
    reply = champion_endpoint.query(data="a,b\n1,2", content_type="text/plain")
    assert reply.status == 415


def test_a_400_is_never_retried(champion_endpoint):
    reply = champion_endpoint.query({"dataframe_records": [{"sessions_30d": 1}]}, retries=3)
    assert reply.status == 400 and reply.attempts == 1


def test_stop_leaves_no_process(registry, tmp_path):
    ep = serving.Endpoint(f"models:/{MODEL}@challenger", folder=tmp_path)
    with ep:
        pgid, port = ep.process.pid, ep.port
        assert serving.group_alive(pgid)
        assert ep.version == registry["challenger"]
        assert ep.pid_file.exists()
    assert not serving.group_alive(pgid)
    assert not list(tmp_path.glob("*.pid"))
    serving.check_port(port)  # free again


# -- the command line ----------------------------------------------------------------------------

def _cli(home, *args, timeout=120):
    return subprocess.run([sys.executable, "-m", "lakeprep", "serve", *args], cwd=REPO,
                          env=cli_env(home), capture_output=True, text=True, timeout=timeout)


def test_cli_missing_alias_exits_nonzero_naming_it(registry):
    result = _cli(registry["home"], "--model", f"{MODEL}@nope")
    assert result.returncode != 0
    assert "nope" in result.stderr and "alias" in result.stderr
    assert not list((registry["home"] / "endpoints").glob("*nope*.pid"))


def test_cli_expands_a_bare_model_name(registry):
    result = _cli(registry["home"], "--model", "churn_model@nope")
    assert result.returncode != 0
    assert f"alias 'nope' does not exist on model '{MODEL}'" in result.stderr


def test_cli_missing_model_exits_nonzero_naming_it(registry):
    result = _cli(registry["home"], "--model", "lakeprep.course.ghost@champion")
    assert result.returncode != 0 and "lakeprep.course.ghost" in result.stderr


def test_cli_busy_port_exits_nonzero_naming_it(registry):
    with listening_socket() as port:
        result = _cli(registry["home"], "--port", str(port))
    assert result.returncode != 0
    assert f"port {port}" in result.stderr


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_cli_serves_the_course_champion_and_stops_cleanly(registry, stop_signal):
    home = registry["home"]
    port = serving.free_port()
    process = subprocess.Popen([sys.executable, "-m", "lakeprep", "serve", "--port", str(port)],
                               cwd=REPO, env=cli_env(home), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 180
        pid_file = None
        while time.monotonic() < deadline and process.poll() is None:
            found = [p for p in (home / "endpoints").glob(f"*-{port}.pid")]
            if found:
                try:
                    if requests.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                        pid_file = found[0]
                        break
                except requests.RequestException:
                    pass
            time.sleep(0.25)
        assert pid_file is not None, process.communicate(timeout=30)
        info = json.loads(pid_file.read_text())
        assert info["model"] == MODEL and info["alias"] == "champion"
        assert info["version"] == registry["champion"]
        rows = frame(3, seed=6)[FEATURES]
        reply = requests.post(f"http://127.0.0.1:{port}/invocations",
                              json=serving.payload(rows), timeout=10)
        assert reply.status_code == 200 and len(reply.json()["predictions"]) == 3
        process.send_signal(stop_signal)
        out, err = process.communicate(timeout=60)
        assert process.returncode == 0, err
        assert "Stopped" in out
        assert not serving.group_alive(info["pgid"])
        assert not pid_file.exists()
        serving.check_port(port)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
