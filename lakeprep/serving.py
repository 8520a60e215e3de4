"""A local stand-in for a Model Serving endpoint: `mlflow models serve` for a registry alias.

    with serving.endpoint("models:/lakeprep.course.churn_model@champion") as ep:
        ep.url                       # http://127.0.0.1:<free port>
        ep.version                   # the model version the alias pointed at when it started
        ep.predict(frame)            # scores, through POST /invocations
        ep.query(body)               # the raw reply (status, JSON, latency) for any body

`lakeprep serve [--model NAME@ALIAS] [--port N]` does the same from a terminal and runs until
Ctrl-C or SIGTERM. Both check their inputs before anything is spawned: the alias must resolve in
the registry and the port must be free. The server runs in a process group of its own, and
stopping kills the whole group, so no uvicorn worker outlives it. Its pid file and log sit in the
workspace's `endpoints/` folder.

Everything listens on 127.0.0.1 only. Heavy imports (MLflow, pandas, requests) stay inside the
functions so that `lakeprep --help` stays fast.
"""
from __future__ import annotations

import atexit
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from lakeprep.errors import LakeprepError

HOST = "127.0.0.1"
DEFAULT_MODEL = "churn_model"
DEFAULT_ALIAS = "champion"
FORMATS = ("dataframe_split", "dataframe_records", "inputs", "instances")
RETRY_STATUSES = (429, 503, 504)

_RUNNING: dict[int, "Endpoint"] = {}   # id(endpoint) -> endpoint, stopped at interpreter exit


# -- model references ----------------------------------------------------------------------------

@dataclass(frozen=True)
class ModelRef:
    """A registered model and an alias or a version, resolved against the registry."""

    name: str
    alias: str | None
    version: str

    @property
    def uri(self) -> str:
        """The URI the server is started with: the alias when there is one, as asked."""
        return f"models:/{self.name}@{self.alias}" if self.alias else f"models:/{self.name}/{self.version}"

    @property
    def version_uri(self) -> str:
        return f"models:/{self.name}/{self.version}"

    def __str__(self) -> str:
        return f"{self.name}@{self.alias} (version {self.version})" if self.alias \
            else f"{self.name} version {self.version}"


def parse_model(text: str) -> tuple[str, str | None, str | None]:
    """`models:/name@alias`, `name@alias`, `models:/name/3` or `name/3` into (name, alias, version)."""
    body = text[len("models:/"):] if text.startswith("models:/") else text
    if "@" in body:
        name, _, alias = body.rpartition("@")
        if name and alias and "/" not in name:
            return name, alias, None
    elif "/" in body:
        name, _, version = body.partition("/")
        if name and version.isdigit():
            return name, None, version
    raise LakeprepError(f"cannot read the model {text!r}: write NAME@ALIAS (e.g. "
                        "lakeprep.course.churn_model@champion) or NAME/VERSION")


def resolve(model: str) -> ModelRef:
    """Look the alias (or version) up in the registry, so that a typo fails before any spawn."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    name, alias, version = parse_model(model)
    client = MlflowClient()
    try:
        client.get_registered_model(name)
    except MlflowException:
        raise LakeprepError(f"registered model {name!r} does not exist in the registry at "
                            f"{_registry_uri()}; run lab 4 first or check the name") from None
    try:
        if alias:
            version = client.get_model_version_by_alias(name, alias).version
        else:
            client.get_model_version(name, version)
    except MlflowException:
        if alias:
            known = sorted(getattr(client.get_registered_model(name), "aliases", {}) or {})
            raise LakeprepError(
                f"alias {alias!r} does not exist on model {name!r}"
                + (f" (its aliases: {', '.join(known)})" if known else " (it has no aliases)")
                + "; set it with `lakeprep promote` or MlflowClient.set_registered_model_alias"
            ) from None
        raise LakeprepError(f"version {version} of model {name!r} does not exist") from None
    return ModelRef(name, alias, str(version))


def _registry_uri() -> str:
    import mlflow
    return mlflow.get_registry_uri()


# -- ports ---------------------------------------------------------------------------------------

def check_port(port: int, host: str = HOST) -> None:
    """Raise a LakeprepError naming the port when something already listens on it."""
    if not 0 < int(port) < 65536:
        raise LakeprepError(f"port {port} is out of range (1-65535)")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
    try:
        sock.bind((host, int(port)))
    except OSError as exc:
        raise LakeprepError(f"port {port} on {host} is busy ({exc.strerror}); stop what uses it "
                            "or pick another port with --port") from None
    finally:
        sock.close()


def free_port(host: str = HOST) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def endpoints_folder() -> Path:
    """The workspace's `endpoints/` folder (LAKEPREP_HOME decides where the workspace is)."""
    from lakeprep import workspace

    folder = workspace.workspace_dir() / workspace.LAYOUT["endpoints"]
    folder.mkdir(parents=True, exist_ok=True)
    return folder


# -- replies ---------------------------------------------------------------------------------------

@dataclass
class Reply:
    """One HTTP exchange with the endpoint."""

    status: int
    body: object            # parsed JSON, or the raw text when the reply is not JSON
    latency_ms: float
    request_id: str
    model_version: str
    attempts: int = 1

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def error(self) -> str:
        """The first line of the server's error message ('' for a success)."""
        if self.ok:
            return ""
        if isinstance(self.body, dict):
            text = str(self.body.get("message", self.body))
        else:
            text = str(self.body)
        # Schema failures nest the cause as "... Error: <cause>"; the innermost one names it.
        if "Error: " in text and text.startswith("Failed to"):
            text = text.rsplit("Error: ", 1)[1]
        text = text.strip()
        return text.splitlines()[0] if text else ""

    @property
    def error_code(self) -> str:
        return str(self.body.get("error_code", "")) if isinstance(self.body, dict) else ""


def payload(frame, fmt: str = "dataframe_split") -> dict:
    """A request body in one of the documented formats, built from a pandas DataFrame."""
    if fmt not in FORMATS:
        raise LakeprepError(f"unknown payload format {fmt!r}; valid: {', '.join(FORMATS)}")
    records = json.loads(frame.to_json(orient="split", index=False, date_format="iso"))
    if fmt == "dataframe_split":
        return {"dataframe_split": {"columns": records["columns"], "data": records["data"]}}
    if fmt == "dataframe_records":
        return {"dataframe_records": [dict(zip(records["columns"], row)) for row in records["data"]]}
    columns = {c: [row[i] for row in records["data"]] for i, c in enumerate(records["columns"])}
    return {fmt: columns}


def scores(predictions) -> list[float]:
    """Turn a `predictions` list into one float per row, whatever shape the model returned:
    plain numbers, one-key objects (a pyfunc returning a DataFrame), or class-probability lists
    (the last entry, the positive class)."""
    out = []
    for item in predictions:
        if isinstance(item, dict):
            numeric = [v for v in item.values() if isinstance(v, (int, float))]
            item = numeric[0] if numeric else next(iter(item.values()))
        if isinstance(item, (list, tuple)):
            item = item[-1]
        out.append(float(item))
    return out


def bad_requests(frame) -> dict:
    """The usual payload mistakes, built from a valid frame (two rows are enough). Each case is
    {"body" or "data": what to send, "names": text the error message should contain}."""
    import pandas as pd

    good = payload(frame.head(2))
    first = frame.columns[0]
    numeric = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])]
    wrong = numeric[0] if numeric else first
    records = json.loads(frame.head(1).to_json(orient="records", date_format="iso"))
    cases = {
        "missing column": {"body": payload(frame.head(2).drop(columns=[first]), "dataframe_records"),
                           "names": first},
        "wrong type": {"body": {"dataframe_records": [{**records[0], wrong: "three"}]}, "names": wrong},
        "malformed JSON": {"data": json.dumps(good)[:-7], "names": "JSON"},
        "two format keys": {"body": {**good, "inputs": good["dataframe_split"]}, "names": "exactly one"},
        "no format key": {"body": {"rows": records}, "names": "exactly one"},
    }
    return cases


def probe(ep: "Endpoint", cases: dict):
    """Send each case once (no retries) and tabulate what came back."""
    import pandas as pd

    rows = []
    for label, case in cases.items():
        reply = ep.query(case.get("body"), data=case.get("data"))
        rows.append({"request": label, "status": reply.status, "error_code": reply.error_code,
                     "names_the_problem": case["names"].lower() in reply.error.lower(),
                     "error": reply.error[:160]})
    return pd.DataFrame(rows).set_index("request")


# -- the endpoint ----------------------------------------------------------------------------------

class FrameScoring:
    """`predict` on top of an endpoint's `query`: the local server and a Model Serving endpoint
    (`lakeprep.platform.serving_databricks.DatabricksEndpoint`) share it, so the payload, the
    inference-log record and the error on a non-200 reply are the same on both targets."""

    def predict(self, frame, fmt: str = "dataframe_split", *, columns=None, log=None,
                route: str = "", retries: int = 3) -> list[float]:
        """Score a pandas DataFrame; raise on any error. Only `columns` (default: all) are sent,
        so ids and other columns can stay with the caller. With `log` (an InferenceLog), the
        request is recorded there: a summary of the features and hashed ids, never the raw rows."""
        sent = frame[list(columns)] if columns is not None else frame
        reply = self.query(payload(sent, fmt), retries=retries)
        predictions = scores(reply.body["predictions"]) if reply.ok else []
        if log is not None:
            log.record(frame, reply, predictions, endpoint=self, route=route)
        if not reply.ok:
            raise LakeprepError(f"the endpoint answered {reply.status}: {reply.error}")
        return predictions


@dataclass
class Endpoint(FrameScoring):
    """A running (or not yet started) local scoring server for one registered model version."""

    model: str
    port: int | None = None
    folder: Path | None = None
    workers: int = 1
    startup_timeout: float = 180.0
    request_timeout: float = 10.0
    label: str = ""
    ref: ModelRef | None = field(default=None, init=False)
    process: subprocess.Popen | None = field(default=None, init=False, repr=False)
    started_seconds: float = field(default=0.0, init=False)

    # -- lifecycle ---------------------------------------------------------------------------
    def check(self) -> None:
        """Everything that can be checked before spawning: the model reference and the port."""
        self.ref = resolve(self.model)
        if self.port is None:
            self.port = free_port()
        else:
            check_port(self.port)

    @property
    def name(self) -> str:
        base = self.label or f"{self.ref.name if self.ref else 'model'}-{(self.ref.alias or 'v' + self.ref.version) if self.ref else ''}"
        return re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{base}-{self.port}")

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def version(self) -> str:
        return self.ref.version if self.ref else ""

    @property
    def where(self) -> str:
        """Where the endpoint runs, in words fit for a plot title or a report."""
        return f"a local server on {HOST}:{self.port}"

    def load_target(self):
        """The invocations URL for `lakeprep.loadtest` (loopback, no credentials)."""
        from lakeprep.loadtest import loopback_target

        if self.port is None or not self.running():
            raise LakeprepError(f"endpoint {self.model} is not running: call endpoint.start() (or use "
                                "`with p.endpoint(...) as endpoint:`) before load-testing it")
        return loopback_target(f"{self.url}/invocations")

    @property
    def pid_file(self) -> Path:
        return Path(self.folder) / f"{self.name}.pid"

    @property
    def log_file(self) -> Path:
        return Path(self.folder) / f"{self.name}.log"

    def command(self) -> list[str]:
        cmd = [sys.executable, "-m", "mlflow", "models", "serve", "-m", self.ref.uri,
               "--env-manager", "local", "-h", HOST, "-p", str(self.port)]
        if self.workers and self.workers > 1:
            cmd += ["--workers", str(self.workers)]
        return cmd

    def start(self) -> "Endpoint":
        if self.process is not None:
            return self
        self.check()
        self.folder = Path(self.folder) if self.folder else endpoints_folder()
        self.folder.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        import mlflow
        env["MLFLOW_TRACKING_URI"] = mlflow.get_tracking_uri()
        env["MLFLOW_REGISTRY_URI"] = mlflow.get_registry_uri()
        # `mlflow models serve` runs `uvicorn` by name: make it this interpreter's one.
        env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
        env.setdefault("PYTHONUNBUFFERED", "1")
        started = time.monotonic()
        with open(self.log_file, "ab") as log:
            log.write(f"\n--- {time.strftime('%Y-%m-%dT%H:%M:%S')} {' '.join(self.command())}\n".encode())
            log.flush()
            self.process = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, env=env,
                                            start_new_session=True,  # its own process group
                                            preexec_fn=_die_with_parent)
        _RUNNING[id(self)] = self
        self.pid_file.write_text(json.dumps({
            "pid": self.process.pid, "pgid": self.process.pid, "port": self.port,
            "model": self.ref.name, "alias": self.ref.alias, "version": self.ref.version,
            "url": self.url, "log": str(self.log_file),
            "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}, indent=2))
        try:
            self._wait_healthy()
        except BaseException:
            self.stop()
            raise
        self.started_seconds = time.monotonic() - started
        return self

    def _wait_healthy(self) -> None:
        import requests

        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            code = self.process.poll()
            if code is not None:
                raise LakeprepError(f"the scoring server for {self.ref} exited with code {code} "
                                    f"before it was ready; last log lines:\n{self.log_tail()}")
            try:
                if requests.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.25)
        raise LakeprepError(f"the scoring server for {self.ref} was not ready after "
                            f"{self.startup_timeout:.0f} s; log: {self.log_file}\n{self.log_tail()}")

    def log_tail(self, lines: int = 12) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 15.0) -> None:
        """Stop the whole process group: SIGTERM, then SIGKILL for anything still alive."""
        process, self.process = self.process, None
        _RUNNING.pop(id(self), None)
        if process is not None:
            stop_group(process.pid, timeout=timeout)
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                pass
        if self.folder is not None:
            self.pid_file.unlink(missing_ok=True)

    def __enter__(self) -> "Endpoint":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- requests --------------------------------------------------------------------------
    def query(self, body=None, *, data: bytes | str | None = None,
              content_type: str = "application/json", retries: int = 0, session=None,
              timeout: float | None = None) -> Reply:
        """POST /invocations. `body` is sent as JSON; `data` is sent as it is (for bad payloads).
        With `retries`, 429/503/504 and connection errors are retried with exponential backoff
        and jitter; any other status is returned at once (a 400 stays a 400 however often sent)."""
        import requests

        http = session or requests
        request_id = uuid.uuid4().hex
        raw = data if data is not None else json.dumps(body)
        headers = {"Content-Type": content_type, "X-Request-Id": request_id}
        attempt = 0
        while True:
            attempt += 1
            started = time.perf_counter()
            try:
                response = http.post(f"{self.url}/invocations", data=raw, headers=headers,
                                     timeout=timeout or self.request_timeout)
                status, text = response.status_code, response.text
            except requests.RequestException as exc:
                status, text = 599, f"connection error: {type(exc).__name__}"
            latency_ms = (time.perf_counter() - started) * 1000
            retry = (status in RETRY_STATUSES or status == 599) and attempt <= retries
            if not retry:
                break
            time.sleep(min(2.0, 0.1 * 2 ** (attempt - 1)) * (0.5 + random.random()))
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = text
        return Reply(status, parsed, latency_ms, request_id, self.version, attempt)


@contextmanager
def endpoint(model_uri: str, port: int | None = None, *, folder: str | Path | None = None,
             workers: int = 1, label: str = "", startup_timeout: float = 180.0):
    """Start a scoring server for `model_uri` (NAME@ALIAS or models:/...), yield it, stop it."""
    ep = Endpoint(model_uri, port=port, folder=Path(folder) if folder else None, workers=workers,
                  label=label, startup_timeout=startup_timeout)
    ep.start()
    try:
        yield ep
    finally:
        ep.stop()


# -- process groups --------------------------------------------------------------------------------

def _die_with_parent() -> None:
    """In the child before exec: on Linux, get SIGTERM when the process that started us dies
    (a killed notebook kernel, say). `mlflow models serve` passes the same on to uvicorn."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL("libc.so.6").prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        except OSError:
            pass


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop_group(pgid: int, timeout: float = 15.0) -> None:
    """SIGTERM the group, wait for it to empty, then SIGKILL what is left."""
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            try:  # reap the leader if it is our child, so that it is not left as a zombie
                os.waitpid(pgid, os.WNOHANG)
            except ChildProcessError:
                pass
            if not group_alive(pgid):
                return
            time.sleep(0.1)


def _is_scoring_server(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return False
    return "mlflow" in cmdline and "serve" in cmdline


def stop_stale(folder: str | Path | None = None) -> list[int]:
    """Stop servers whose pid files were left behind (a crashed kernel, say). A pid is only
    signalled when it still belongs to an `mlflow models serve` process."""
    folder = Path(folder) if folder else endpoints_folder()
    stopped = []
    for pid_file in folder.glob("*.pid"):
        try:
            info = json.loads(pid_file.read_text())
        except (OSError, ValueError):
            pid_file.unlink(missing_ok=True)
            continue
        pgid = int(info.get("pgid", 0))
        if pgid and group_alive(pgid) and _is_scoring_server(pgid):
            stop_group(pgid)
            stopped.append(pgid)
        pid_file.unlink(missing_ok=True)
    return stopped


@atexit.register
def _stop_all() -> None:
    for ep in list(_RUNNING.values()):
        ep.stop(timeout=5.0)


# -- the command line --------------------------------------------------------------------------------

def add_commands(sub) -> None:
    parser = sub.add_parser("serve", help="serve a registered model on 127.0.0.1 until Ctrl-C")
    parser.add_argument("--model", default="",
                        help=f"NAME@ALIAS or NAME/VERSION; a bare NAME gets the catalog and schema "
                             f"(default: the course model "
                             f"{DEFAULT_MODEL}@{DEFAULT_ALIAS}, named by the platform)")
    parser.add_argument("--port", type=int, default=None, help="port (default: a free one)")
    parser.add_argument("--workers", type=int, default=1, help="server processes (default 1)")
    parser.add_argument("--target", default="local", help="where the registry is (default local)")
    parser.add_argument("--catalog", default="", help="catalog of the default model name")
    parser.add_argument("--schema", default="", help="schema of the default model name")
    parser.add_argument("--timeout", type=float, default=180.0,
                        help="seconds to wait for the server to become healthy")
    parser.set_defaults(func=_run)


class _Stop(Exception):
    pass


def _raise_stop(signum, frame):
    raise _Stop(signal.Signals(signum).name)


def _run(args) -> int:
    from lakeprep.platform import get_platform

    platform = get_platform(args.target, catalog=args.catalog, schema=args.schema)
    platform.setup_mlflow()
    model = args.model or f"{platform.model_name(DEFAULT_MODEL)}@{DEFAULT_ALIAS}"
    name, alias, version = parse_model(model)
    if "." not in name:  # a bare name, as `lakeprep promote` takes: the platform adds the rest
        model = platform.model_name(name) + (f"@{alias}" if alias else f"/{version}")
    ep = Endpoint(model, port=args.port, workers=args.workers, startup_timeout=args.timeout)
    ep.check()  # the alias and the port, before anything is spawned
    previous = signal.signal(signal.SIGTERM, _raise_stop)
    try:
        ep.start()
        print(f"Serving {ep.ref} at {ep.url}/invocations (health: {ep.url}/health)\n"
              f"  pid file {ep.pid_file}\n  log {ep.log_file}\n"
              f"Press Ctrl-C to stop.", flush=True)
        while ep.running():
            time.sleep(0.5)
        print(f"lakeprep: the server exited unexpectedly; last log lines:\n{ep.log_tail()}",
              file=sys.stderr)
        return 1
    except (KeyboardInterrupt, _Stop):
        print("Stopping the server ...", flush=True)
        return 0
    finally:
        ep.stop()
        signal.signal(signal.SIGTERM, previous)
        if ep.ref is not None:
            print(f"Stopped {ep.ref}.", flush=True)
