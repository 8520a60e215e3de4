"""The load test: loopback only, bounded in requests and time, warm-up excluded, percentiles and
rates computed from the raw samples, errors counted, against a real scoring server."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from lakeprep import loadtest, serving
from lakeprep.errors import LakeprepError

sys.path.insert(0, str(Path(__file__).resolve().parent))  # pytest runs with --import-mode=importlib
from test_serving_support import FEATURES, champion_endpoint, frame, registry  # noqa: E402,F401


@pytest.mark.parametrize("url", [
    "http://10.1.2.3:5000/invocations",
    "http://192.168.0.10/invocations",
    "http://8.8.8.8:80/invocations",
    "https://127.0.0.1:5000/invocations",
    "ftp://127.0.0.1/x",
])
def test_refuses_anything_but_loopback_http(url):
    with pytest.raises(LakeprepError):
        loadtest.check_loopback(url)


def test_accepts_loopback():
    assert loadtest.check_loopback("http://127.0.0.1:5000/invocations") == ("127.0.0.1", 5000, "/invocations")
    assert loadtest.check_loopback("http://localhost:81/x")[1] == 81


@pytest.mark.parametrize("kwargs, message", [
    ({"duration_s": 0}, "duration_s"),
    ({"duration_s": 3600}, "duration_s"),
    ({"max_requests": 0}, "max_requests"),
    ({"max_requests": 10 ** 7}, "max_requests"),
    ({"concurrency": 0}, "concurrency"),
])
def test_budgets_are_always_bounded(kwargs, message):
    with pytest.raises(LakeprepError, match=message):
        loadtest.run("http://127.0.0.1:9/invocations", [b"{}"], rows_per_request=1, **kwargs)


def test_bodies_cycle_through_the_rows():
    rows = frame(7)[FEATURES]
    bodies = loadtest.encode_bodies(rows, 3)
    assert len(bodies) == 2
    import json
    first = json.loads(bodies[0])["dataframe_split"]
    assert first["columns"] == FEATURES and len(first["data"]) == 3


def test_request_budget_is_exact_and_warmup_is_not_recorded(champion_endpoint):
    bodies = loadtest.encode_bodies(frame(50)[FEATURES], 1)
    result = loadtest.run(f"{champion_endpoint.url}/invocations", bodies, rows_per_request=1,
                          concurrency=3, duration_s=30, max_requests=17, warmup_requests=5)
    assert result.requests == 17 and result.stopped_by == "requests"
    assert result.errors == 0
    s = result.summary()
    lat = np.asarray(result.latencies_ms)
    assert s["p50_ms"] == pytest.approx(np.percentile(lat, 50))
    assert s["p99_ms"] == pytest.approx(np.percentile(lat, 99))
    assert s["p50_ms"] <= s["p95_ms"] <= s["p99_ms"] <= s["max_ms"] == pytest.approx(lat.max())
    assert s["rows_per_s"] == pytest.approx(17 / result.wall_s)


def test_duration_budget_stops_the_run(champion_endpoint):
    bodies = loadtest.encode_bodies(frame(50)[FEATURES], 1)
    result = loadtest.run(f"{champion_endpoint.url}/invocations", bodies, rows_per_request=1,
                          concurrency=2, duration_s=0.5, max_requests=20_000, warmup_requests=2)
    assert result.stopped_by == "duration"
    assert 0 < result.requests < 20_000


def test_single_rows_versus_micro_batches(champion_endpoint):
    table, results = loadtest.compare(f"{champion_endpoint.url}/invocations", frame(300)[FEATURES],
                                      batch_sizes=(1, 50), concurrency=2, duration_s=5,
                                      max_requests=40, warmup_requests=3)
    assert list(table["rows_per_request"]) == [1, 50]
    assert (table["requests"] <= 40).all() and (table["errors"] == 0).all()
    for column in ("p50_ms", "p95_ms", "p99_ms", "max_ms", "error_rate", "rows_per_s"):
        assert table[column].notna().all(), column
    batched = results[1]
    assert table.iloc[1]["rows_per_s"] == pytest.approx(
        (batched.requests - batched.errors) * 50 / batched.wall_s)
    fig = loadtest.plot(results)
    assert len(fig.axes) == 2


def test_errors_are_counted_not_hidden(champion_endpoint):
    bad = [b'{"dataframe_records": [{"sessions_30d": 1}]}']   # a missing column: a real 400
    result = loadtest.run(f"{champion_endpoint.url}/invocations", bad, rows_per_request=1,
                          concurrency=2, duration_s=10, max_requests=10, warmup_requests=1)
    s = result.summary()
    assert s["errors"] == 10 and s["error_rate"] == 1.0 and s["rows_per_s"] == 0


def test_a_dead_port_is_an_error_not_a_hang():
    port = serving.free_port()
    result = loadtest.run(f"http://127.0.0.1:{port}/invocations", [b"{}"], rows_per_request=1,
                          concurrency=1, duration_s=5, max_requests=3, warmup_requests=0,
                          timeout_s=2)
    assert result.requests == 3 and result.errors == 3
