"""A small, honest load test for a scoring endpoint.

It is a closed-loop test at a fixed concurrency: `concurrency` threads each send a request, wait
for the reply and send the next, until either the request budget or the time budget is spent
(both are always bounded). Every request's latency is kept raw; percentiles come from those
samples (`numpy.percentile`), after a warm-up that is not recorded. A closed loop under-reports
the tail when the server stalls (coordinated omission), so read p99 as a lower bound.

It never aims at an arbitrary address. A URL given as text must resolve to loopback only; an
endpoint object (`lakeprep.serving.Endpoint`, or the Databricks target's `DatabricksEndpoint`)
names its own target through `load_target()`: the local server on 127.0.0.1, or the workspace's
Model Serving endpoint over HTTPS with the workspace's own credentials. So a lab cell passes the
endpoint and runs unchanged on both targets.
"""
from __future__ import annotations

import http.client
import ipaddress
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlparse

from lakeprep.errors import LakeprepError

MAX_DURATION_S = 60.0
MAX_REQUESTS = 20_000


def check_loopback(url: str) -> tuple[str, int, str]:
    """(host, port, path) of an http URL whose host resolves to loopback addresses only."""
    parsed = urlparse(url)
    if parsed.scheme != "http" or not parsed.hostname:
        raise LakeprepError(f"load tests need an http://127.0.0.1:PORT/... URL, not {url!r}")
    port = parsed.port or 80
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(parsed.hostname, port)}
    except socket.gaierror:
        raise LakeprepError(f"cannot resolve {parsed.hostname!r}") from None
    outside = [a for a in addresses if not ipaddress.ip_address(a.split("%")[0]).is_loopback]
    if outside or not addresses:
        raise LakeprepError(f"refusing to load-test {parsed.hostname} ({', '.join(sorted(addresses))}):"
                            " load tests run against loopback (127.0.0.1) endpoints only")
    return parsed.hostname, port, parsed.path or "/"


@dataclass(frozen=True)
class LoadTarget:
    """Where a load test sends its requests. `headers` may hold credentials, so they are left
    out of repr() and never printed."""

    scheme: str
    host: str
    port: int
    path: str
    headers: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def where(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}{self.path}"

    def connect(self, timeout_s: float):
        if self.scheme == "https":
            return http.client.HTTPSConnection(self.host, self.port, timeout=timeout_s)
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout_s)


def loopback_target(url: str) -> LoadTarget:
    host, port, path = check_loopback(url)
    return LoadTarget("http", host, port, path)


def workspace_target(host_url: str, path: str, headers: dict) -> LoadTarget:
    """A Model Serving endpoint of the configured workspace: HTTPS, or plain HTTP on loopback
    only (a stand-in workspace in tests)."""
    parsed = urlparse(host_url)
    if parsed.scheme == "https" and parsed.hostname:
        return LoadTarget("https", parsed.hostname, parsed.port or 443, path, dict(headers))
    if parsed.scheme == "http":
        host, port, _ = check_loopback(host_url)
        return LoadTarget("http", host, port, path, dict(headers))
    raise LakeprepError(f"workspace host {host_url!r} is not an https:// URL: set DATABRICKS_HOST "
                        "(or the host of your ~/.databrickscfg profile) to https://<workspace>")


def resolve_target(target) -> LoadTarget:
    """A LoadTarget from a loopback URL, an endpoint object, or a LoadTarget."""
    if isinstance(target, LoadTarget):
        return target
    if isinstance(target, str):
        return loopback_target(target)
    if hasattr(target, "load_target"):
        return target.load_target()
    raise LakeprepError(f"cannot load-test {target!r}: pass an endpoint (p.endpoint(...)) or a "
                        "http://127.0.0.1:PORT/invocations URL")


@dataclass
class LoadResult:
    label: str
    rows_per_request: int
    concurrency: int
    latencies_ms: list = field(default_factory=list)   # successful and failed, after warm-up
    statuses: list = field(default_factory=list)
    wall_s: float = 0.0
    warmup_requests: int = 0
    stopped_by: str = ""

    @property
    def requests(self) -> int:
        return len(self.latencies_ms)

    @property
    def errors(self) -> int:
        return sum(1 for s in self.statuses if s != 200)

    def summary(self) -> dict:
        import numpy as np

        lat = np.asarray(self.latencies_ms, dtype=float)
        ok = self.requests - self.errors
        pct = (lambda q: float(np.percentile(lat, q))) if len(lat) else (lambda q: float("nan"))
        return {
            "label": self.label,
            "rows_per_request": self.rows_per_request,
            "concurrency": self.concurrency,
            "requests": self.requests,
            "errors": self.errors,
            "error_rate": self.errors / self.requests if self.requests else float("nan"),
            "p50_ms": pct(50), "p95_ms": pct(95), "p99_ms": pct(99),
            "max_ms": float(lat.max()) if len(lat) else float("nan"),
            "requests_per_s": self.requests / self.wall_s if self.wall_s else float("nan"),
            "rows_per_s": ok * self.rows_per_request / self.wall_s if self.wall_s else float("nan"),
            "wall_s": self.wall_s,
            "stopped_by": self.stopped_by,
        }


def encode_bodies(frame, rows_per_request: int, fmt: str = "dataframe_split",
                  max_bodies: int = 200) -> list[bytes]:
    """JSON bodies of `rows_per_request` rows each, cycling through `frame`'s rows."""
    from lakeprep.serving import payload

    n = len(frame)
    if n == 0:
        raise LakeprepError("no rows to build payloads from")
    bodies = []
    for i in range(min(max_bodies, max(1, n // rows_per_request))):
        index = [(i * rows_per_request + j) % n for j in range(rows_per_request)]
        bodies.append(json.dumps(payload(frame.iloc[index], fmt)).encode())
    return bodies


def run(target, bodies: list[bytes], *, rows_per_request: int, label: str = "",
        concurrency: int = 4, duration_s: float = 3.0, max_requests: int = 1000,
        warmup_requests: int = 10, timeout_s: float = 10.0) -> LoadResult:
    """Send `bodies` (cycled) to `target` and time each request. `target` is an endpoint object
    (its invocations URL and credentials), or a loopback URL ending in /invocations."""
    if not bodies:
        raise LakeprepError("no request bodies")
    if not 0 < duration_s <= MAX_DURATION_S:
        raise LakeprepError(f"duration_s must be in (0, {MAX_DURATION_S:.0f}] seconds")
    if not 0 < max_requests <= MAX_REQUESTS:
        raise LakeprepError(f"max_requests must be in 1..{MAX_REQUESTS}")
    if not 1 <= concurrency <= 64:
        raise LakeprepError("concurrency must be between 1 and 64")
    aim = resolve_target(target)
    path = aim.path
    headers = {**aim.headers, "Content-Type": "application/json"}
    result = LoadResult(label or f"{rows_per_request} row(s)", rows_per_request, concurrency,
                        warmup_requests=warmup_requests)

    def send(conn, body):
        started = time.perf_counter()
        try:
            conn.request("POST", path, body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            status = response.status
        except (OSError, http.client.HTTPException):
            conn.close()  # reconnects on the next request
            status = 599
        return (time.perf_counter() - started) * 1000, status

    warm = aim.connect(timeout_s)
    for i in range(warmup_requests):
        send(warm, bodies[i % len(bodies)])
    warm.close()

    lock = threading.Lock()
    counter = {"next": 0}
    deadline = time.perf_counter() + duration_s
    samples: list[tuple[float, int]] = []

    def worker():
        conn = aim.connect(timeout_s)
        local = []
        try:
            while True:
                with lock:
                    ticket = counter["next"]
                    if ticket >= max_requests or time.perf_counter() >= deadline:
                        break
                    counter["next"] += 1
                local.append(send(conn, bodies[ticket % len(bodies)]))
        finally:
            conn.close()
            with lock:
                samples.extend(local)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(duration_s + timeout_s + 5)
    result.wall_s = time.perf_counter() - started
    result.latencies_ms = [s[0] for s in samples]
    result.statuses = [s[1] for s in samples]
    result.stopped_by = "requests" if counter["next"] >= max_requests else "duration"
    return result


def compare(target, frame, batch_sizes=(1, 100), *, concurrency: int = 4,
            duration_s: float = 3.0, max_requests: int = 1000, warmup_requests: int = 10):
    """Run one load test per batch size against `target` (an endpoint, or a loopback URL);
    return (summary table, results)."""
    import pandas as pd

    target = resolve_target(target)     # once: credentials are read a single time
    results = []
    for rows in batch_sizes:
        bodies = encode_bodies(frame, rows)
        results.append(run(target, bodies, rows_per_request=rows, label=f"{rows} row(s)/request",
                           concurrency=concurrency, duration_s=duration_s,
                           max_requests=max_requests, warmup_requests=warmup_requests))
    table = pd.DataFrame([r.summary() for r in results]).set_index("label")
    return table, results


def plot(results, title: str = "Endpoint latency by payload size"):
    """Latency distributions (ECDF, log scale) and rows/s per configuration, side by side."""
    import matplotlib.pyplot as plt
    import numpy as np

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    for r in results:
        lat = np.sort(np.asarray(r.latencies_ms))
        if len(lat):
            left.step(lat, np.arange(1, len(lat) + 1) / len(lat), where="post", label=r.label)
            for q, style in ((50, ":"), (99, "--")):
                left.axvline(np.percentile(lat, q), linestyle=style, linewidth=0.8,
                             color=left.lines[-1].get_color())
    left.set_xscale("log")
    left.set_xlabel("latency per request (ms, log scale); dotted p50, dashed p99")
    left.set_ylabel("share of requests")
    left.legend()
    summaries = [r.summary() for r in results]
    right.bar([s["label"] for s in summaries], [s["rows_per_s"] for s in summaries],
              color=["tab:blue", "tab:orange", "tab:green", "tab:red"][:len(summaries)])
    right.set_ylabel("rows scored per second")
    right.set_yscale("log")
    fig.suptitle(title)
    fig.tight_layout()
    return fig
