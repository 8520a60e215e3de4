"""Model Serving, AI Gateway inference tables and quality monitors through the Databricks SDK.

A module of its own because these calls are exam material (served entities, traffic routes,
inference capture, InferenceLog monitors) and the contract tests pin each payload here, without a
workspace. The SDK (`databricks-sdk`, installed with MLflow) is imported inside the functions.

    serving = p.serving()
    champ = serving.resolve("churn_model", "champion")          # alias -> version, via MLflow
    chall = serving.resolve("churn_model", "challenger")
    serving.canary("lakeprep-churn", champ, chall, challenger_percent=10)   # 90/10 routes
    serving.set_traffic("lakeprep-churn", {champ.name: 0, chall.name: 100})
    serving.enable_inference_table("lakeprep-churn")           # AI Gateway -> <prefix>_payload
    serving.create_monitor("churn_predictions", prediction_col="prediction", ...)
    serving.scale_to_zero("lakeprep-churn"); serving.delete("lakeprep-churn")

`DatabricksEndpoint` wraps one endpoint with the surface of the local `lakeprep.serving.Endpoint`
(start, query, predict, stop, ref, version, url), so lab cells do not change between targets.
"""
from __future__ import annotations

import json
import random
import re
import time
import uuid
from dataclasses import dataclass

from lakeprep.errors import LakeprepError
from lakeprep.platform.base import _NAME
from lakeprep.serving import FrameScoring

WORKLOAD_SIZES = ("Small", "Medium", "Large")
FORMATS = ("dataframe_split", "dataframe_records", "inputs", "instances")
RETRY_STATUSES = (429, 503, 504)
PROBLEM_TYPES = ("classification", "regression")
# SDK error class (or a base class of it) -> the HTTP status the endpoint answered with.
_STATUS = {"BadRequest": 400, "Unauthenticated": 401, "PermissionDenied": 403, "NotFound": 404,
           "ResourceConflict": 409, "TooManyRequests": 429, "Cancelled": 499, "InternalError": 500,
           "NotImplemented": 501, "TemporarilyUnavailable": 503, "DeadlineExceeded": 504}
_ENDPOINT_NAME = re.compile(r"^[A-Za-z0-9_-]{1,63}$")


def _sdk_serving():
    from databricks.sdk.service import serving

    return serving


def _not_found(exc) -> bool:
    from databricks.sdk.errors import NotFound

    return isinstance(exc, NotFound)


def status_of(exc) -> int:
    """The HTTP status behind an SDK error (599 for anything that never reached the endpoint)."""
    for cls in type(exc).__mro__:
        if cls.__name__ in _STATUS:
            return _STATUS[cls.__name__]
    return 599


# -- served versions and traffic ------------------------------------------------------------------

def served_name(model: str, version) -> str:
    """`churn_model-3`. Routes name served entities, and a canary serves two versions of one model
    on one endpoint, so the version belongs in the name."""
    return f"{model.rsplit('.', 1)[-1]}-{version}"


def version_of(served: str | None) -> str:
    """The version in a served entity name (`churn_model-3` -> `3`), '' when there is none."""
    match = re.search(r"-(\d+)$", served or "")
    return match.group(1) if match else ""


@dataclass(frozen=True)
class ServedVersion:
    """One registered model version to serve: a served entity of an endpoint."""

    model: str                   # catalog.schema.name
    version: str
    workload_size: str = "Small"
    scale_to_zero: bool = True

    def __post_init__(self):
        parts = self.model.split(".")
        if len(parts) != 3 or not all(_NAME.match(p) for p in parts):
            raise LakeprepError(f"served model {self.model!r}: Unity Catalog needs catalog.schema.name")
        if not str(self.version).isdigit():
            raise LakeprepError(f"served version {self.version!r}: give a version number; "
                                "resolve aliases first with serving.resolve(model, alias)")
        if self.workload_size not in WORKLOAD_SIZES:
            raise LakeprepError(f"workload_size {self.workload_size!r}: use one of "
                                f"{', '.join(WORKLOAD_SIZES)}")

    @property
    def name(self) -> str:
        return served_name(self.model, self.version)

    def entity(self):
        return _sdk_serving().ServedEntityInput(
            name=self.name, entity_name=self.model, entity_version=str(self.version),
            workload_size=self.workload_size, scale_to_zero_enabled=self.scale_to_zero)


def check_traffic(traffic: dict, served) -> list[tuple[str, int]]:
    """Validate a split before anything is sent: whole percentages from 0 to 100 that add up to
    100, each naming a served entity of the endpoint. Returns the routes in order."""
    served = list(served)
    if not isinstance(traffic, dict) or not traffic:
        raise LakeprepError("traffic: give {served entity name: percentage}, e.g. "
                            f"{{{served[0] if served else 'churn_model-3'!r}: 100}}")
    routes = []
    for name, share in traffic.items():
        if name not in served:
            raise LakeprepError(f"traffic route {name!r} names no served entity of the endpoint; "
                                f"served: {', '.join(served) or 'none'}")
        if isinstance(share, bool) or not isinstance(share, int) or not 0 <= share <= 100:
            raise LakeprepError(f"traffic for {name!r} is {share!r}: use a whole percentage 0-100")
        routes.append((name, share))
    total = sum(share for _, share in routes)
    if total != 100:
        raise LakeprepError(f"traffic percentages add up to {total}, not 100: "
                            + ", ".join(f"{n}={s}" for n, s in routes))
    return routes


def traffic_config(routes):
    serving = _sdk_serving()
    return serving.TrafficConfig(routes=[serving.Route(served_model_name=name, traffic_percentage=share)
                                         for name, share in routes])


# -- the service ------------------------------------------------------------------------------------

class DatabricksServing:
    """Endpoints, inference tables and monitors for one learner's catalog and schema.

    `workspace` is a `databricks.sdk.WorkspaceClient`; `mlflow_client` an `MlflowClient` on the
    `databricks-uc` registry, or a function returning one (it is needed only to resolve aliases).
    `sleep` and `clock` are replaceable so that tests wait for nothing."""

    def __init__(self, workspace, *, catalog: str, schema: str, user: str = "", mlflow_client=None,
                 sleep=time.sleep, clock=time.monotonic, poll_seconds: float = 10.0):
        self.w, self.catalog, self.schema, self.user = workspace, catalog, schema, user
        self._mlflow = mlflow_client
        self.sleep, self.clock, self.poll_seconds = sleep, clock, poll_seconds

    # -- names ---------------------------------------------------------------------------------
    def full_name(self, name: str) -> str:
        parts = name.split(".")
        if len(parts) == 1 and _NAME.match(name):
            return f"{self.catalog}.{self.schema}.{name}"
        if len(parts) == 3 and all(_NAME.match(p) for p in parts):
            return name
        raise LakeprepError(f"{name!r}: give a bare name (churn_model) or catalog.schema.name")

    def endpoint_name(self, model: str, suffix: str = "") -> str:
        """`<schema>-<model>[-<suffix>]`: endpoint names are unique per workspace, the schema is
        unique per learner."""
        bare = model.rsplit(".", 1)[-1]
        name = "-".join(x for x in (self.schema, bare, suffix) if x)
        return re.sub(r"[^A-Za-z0-9_-]", "-", name)[:63]

    def host(self) -> str:
        return (getattr(getattr(self.w, "config", None), "host", "") or "").rstrip("/")

    # -- registry ------------------------------------------------------------------------------
    def mlflow_client(self):
        if self._mlflow is None:
            from mlflow import MlflowClient

            self._mlflow = MlflowClient(registry_uri="databricks-uc")
        if callable(self._mlflow) and not hasattr(self._mlflow, "get_model_version_by_alias"):
            self._mlflow = self._mlflow()
        return self._mlflow

    def resolve(self, model: str, ref: str = "champion", **options) -> ServedVersion:
        """A version number as given, or the version an alias points at now. Model Serving serves
        versions, not aliases: moving an alias later does not move the endpoint."""
        full, ref = self.full_name(model), str(ref)
        if ref.isdigit():
            return ServedVersion(full, ref, **options)
        from mlflow.exceptions import MlflowException

        try:
            version = self.mlflow_client().get_model_version_by_alias(full, ref).version
        except MlflowException:
            raise LakeprepError(f"alias {ref!r} does not exist on {full}; set it first "
                                "(lakeprep promote, or MlflowClient.set_registered_model_alias)") from None
        return ServedVersion(full, str(version), **options)

    # -- endpoints -----------------------------------------------------------------------------
    def get(self, endpoint: str):
        """The endpoint's details, or None when it does not exist."""
        try:
            return self.w.serving_endpoints.get(endpoint)
        except Exception as exc:
            if _not_found(exc):
                return None
            raise

    def deploy(self, endpoint: str, served, traffic: dict | None = None, *,
               timeout_s: float = 1800.0):
        """Create the endpoint, or update its configuration, so that it serves `served` (a list of
        ServedVersion) with `traffic` ({served name: percentage}; one version gets 100 by default);
        then wait until it is ready. The split is checked before any call."""
        served = list(served)
        names = [s.name for s in served]
        if not served or len(set(names)) != len(names):
            raise LakeprepError(f"endpoint {endpoint}: give one or more distinct versions to serve; "
                                f"got {names}")
        if not _ENDPOINT_NAME.match(endpoint):
            raise LakeprepError(f"endpoint name {endpoint!r}: use at most 63 letters, digits, '-' or '_'")
        if traffic is None:
            if len(served) > 1:
                raise LakeprepError("several versions served: say how traffic is split, e.g. "
                                    f"{{{names[0]!r}: 90, {names[1]!r}: 10}}")
            traffic = {names[0]: 100}
        routes = check_traffic(traffic, names)
        serving = _sdk_serving()
        entities, split = [s.entity() for s in served], traffic_config(routes)
        current = self.get(endpoint)
        if current is None:
            self.w.serving_endpoints.create(
                name=endpoint,
                config=serving.EndpointCoreConfigInput(name=endpoint, served_entities=entities,
                                                       traffic_config=split))
        else:
            if _updating(current):  # an update in progress refuses the next one
                self.wait_ready(endpoint, timeout_s)
            self.w.serving_endpoints.update_config(name=endpoint, served_entities=entities,
                                                   traffic_config=split)
        return self.wait_ready(endpoint, timeout_s)

    def canary(self, endpoint: str, champion: ServedVersion, challenger: ServedVersion,
               challenger_percent: int = 10, **options):
        """Serve both versions on one endpoint with `challenger_percent` of the traffic routed to
        the challenger: the Model Serving form of a canary."""
        if isinstance(challenger_percent, bool) or not isinstance(challenger_percent, int):
            raise LakeprepError(f"challenger_percent {challenger_percent!r}: use a whole percentage")
        return self.deploy(endpoint, [champion, challenger],
                           {champion.name: 100 - challenger_percent,
                            challenger.name: challenger_percent}, **options)

    def _current_entities(self, endpoint: str):
        current = self.get(endpoint)
        if current is None or current.config is None:
            raise LakeprepError(f"endpoint {endpoint} does not exist (or has no configuration yet); "
                                "deploy it first")
        serving = _sdk_serving()
        return current, [serving.ServedEntityInput(
            name=e.name, entity_name=e.entity_name, entity_version=e.entity_version,
            workload_size=e.workload_size, scale_to_zero_enabled=e.scale_to_zero_enabled,
            workload_type=e.workload_type) for e in current.config.served_entities or []]

    def set_traffic(self, endpoint: str, traffic: dict, *, timeout_s: float = 1800.0):
        """Move traffic between the versions an endpoint already serves (promote a canary: all to
        the challenger; roll back: all to the champion)."""
        current, entities = self._current_entities(endpoint)
        routes = check_traffic(traffic, [e.name for e in entities])
        if _updating(current):
            self.wait_ready(endpoint, timeout_s)
        self.w.serving_endpoints.update_config(name=endpoint, served_entities=entities,
                                               traffic_config=traffic_config(routes))
        return self.wait_ready(endpoint, timeout_s)

    def scale_to_zero(self, endpoint: str, *, timeout_s: float = 1800.0):
        """Keep the endpoint but let every served entity scale to zero when idle (no cost while
        idle; the next request after a pause waits for a cold start)."""
        current, entities = self._current_entities(endpoint)
        for entity in entities:
            entity.scale_to_zero_enabled = True
        if _updating(current):
            self.wait_ready(endpoint, timeout_s)
        self.w.serving_endpoints.update_config(name=endpoint, served_entities=entities,
                                               traffic_config=current.config.traffic_config)
        return self.wait_ready(endpoint, timeout_s)

    def delete(self, endpoint: str) -> bool:
        """Delete the endpoint; False when there was none."""
        try:
            self.w.serving_endpoints.delete(endpoint)
        except Exception as exc:
            if _not_found(exc):
                return False
            raise
        return True

    def wait_ready(self, endpoint: str, timeout_s: float = 1800.0):
        """Poll until no configuration update is running and the endpoint is READY."""
        serving = _sdk_serving()
        deadline, delay = self.clock() + timeout_s, 1.0
        while True:
            current = self.w.serving_endpoints.get(endpoint)
            state = current.state
            update = getattr(state, "config_update", None)
            if update in (serving.EndpointStateConfigUpdate.UPDATE_FAILED,
                          serving.EndpointStateConfigUpdate.UPDATE_CANCELED):
                raise LakeprepError(
                    f"endpoint {endpoint}: the configuration update ended as {update.value}"
                    f"{_entity_messages(current)}; read the build logs in the Serving UI or with "
                    "w.serving_endpoints.build_logs(endpoint, served_entity_name)")
            if (update == serving.EndpointStateConfigUpdate.NOT_UPDATING
                    and getattr(state, "ready", None) == serving.EndpointStateReady.READY):
                return current
            if self.clock() >= deadline:
                raise LakeprepError(f"endpoint {endpoint} was not ready after {timeout_s:.0f} s "
                                    f"(update: {getattr(update, 'value', update)}, ready: "
                                    f"{getattr(getattr(state, 'ready', None), 'value', None)})"
                                    f"{_entity_messages(current)}")
            self.sleep(min(delay, self.poll_seconds))
            delay *= 2

    # -- requests ------------------------------------------------------------------------------
    def query(self, endpoint: str, body=None, *, data: str | bytes | None = None,
              content_type: str = "application/json", model_version: str = "",
              retries: int = 0):
        """Send one request and return a `lakeprep.serving.Reply`, as the local endpoint does.

        A body with exactly one format key goes through `serving_endpoints.query`; anything else
        (a raw string, zero or two format keys, a bad body a lab sends on purpose) is posted as it
        is, so that the reply is the endpoint's own verdict. 429/503/504 are retried `retries`
        times with backoff and jitter."""
        from lakeprep.serving import Reply

        request_id = uuid.uuid4().hex
        attempt = 0
        while True:
            attempt += 1
            started = time.perf_counter()
            try:
                result = self._send(endpoint, body, data, content_type, request_id)
                status, parsed, served = 200, {"predictions": result[0]}, result[1]
            except Exception as exc:
                from lakeprep.platform.databricks import scrub

                status, served = status_of(exc), ""
                parsed = {"error_code": str(getattr(exc, "error_code", "") or type(exc).__name__),
                          "message": scrub(str(exc))}
            latency_ms = (time.perf_counter() - started) * 1000
            if not (status in RETRY_STATUSES and attempt <= retries):
                break
            self.sleep(min(2.0, 0.1 * 2 ** (attempt - 1)) * (0.5 + random.random()))
        return Reply(status, parsed, latency_ms, request_id, version_of(served) or model_version,
                     attempt)

    def _send(self, endpoint, body, data, content_type, request_id):
        keys = [k for k in FORMATS if isinstance(body, dict) and k in body]
        if data is None and isinstance(body, dict) and len(keys) == 1 and set(body) == set(keys):
            key, value = keys[0], body[keys[0]]
            kwargs = {key: value}
            if key == "dataframe_split":
                kwargs[key] = _sdk_serving().DataframeSplitInput(
                    columns=value.get("columns"), data=value.get("data"), index=value.get("index"))
            reply = self.w.serving_endpoints.query(endpoint, client_request_id=request_id, **kwargs)
            return reply.predictions, reply.served_model_name
        raw = data if data is not None else json.dumps(body)
        reply = self.w.api_client.do("POST", f"/serving-endpoints/{endpoint}/invocations",
                                     data=raw, headers={"Content-Type": content_type,
                                                        "Accept": "application/json"},
                                     response_headers=["served-model-name"])
        return reply.get("predictions"), reply.get("served-model-name")

    # -- inference capture and monitoring ------------------------------------------------------
    def enable_inference_table(self, endpoint: str, prefix: str | None = None) -> str:
        """Log every request and response of the endpoint to a Delta table in the learner's
        schema, through AI Gateway (legacy `auto_capture_config` can no longer be enabled).
        Returns the payload table's name, `<catalog>.<schema>.<prefix>_payload`: AI Gateway names
        the table from `table_name_prefix` (the endpoint name when none is given) plus `_payload`.
        Rows land with a delay (up to an hour), so query it a while after the first requests."""
        prefix = prefix or re.sub(r"[^A-Za-z0-9_]", "_", endpoint)
        if not _NAME.match(prefix):
            raise LakeprepError(f"inference table prefix {prefix!r}: use letters, digits, underscores")
        serving = _sdk_serving()
        self.w.serving_endpoints.put_ai_gateway(
            endpoint, inference_table_config=serving.AiGatewayInferenceTableConfig(
                catalog_name=self.catalog, schema_name=self.schema, table_name_prefix=prefix,
                enabled=True))
        return f"{self.catalog}.{self.schema}.{prefix}_payload"

    def create_monitor(self, table: str, *, prediction_col: str, model_id_col: str,
                       timestamp_col: str, label_col: str | None = None,
                       problem_type: str = "classification", granularities=("1 day",),
                       baseline_table: str | None = None, slicing_exprs=None,
                       prediction_proba_col: str | None = None, assets_dir: str | None = None):
        """An InferenceLog quality monitor on `table` (a processed inference table with one row
        per prediction). Metric tables (`<table>_profile_metrics`, `<table>_drift_metrics`) go to
        the learner's schema, the dashboard to `assets_dir`. An existing monitor is returned as
        it is."""
        from databricks.sdk.service import catalog as uc

        if problem_type not in PROBLEM_TYPES:
            raise LakeprepError(f"problem_type {problem_type!r}: use one of {', '.join(PROBLEM_TYPES)}")
        full = self.full_name(table)
        try:
            return self.w.quality_monitors.get(table_name=full)
        except Exception as exc:
            if not _not_found(exc):
                raise
        kind = (uc.MonitorInferenceLogProblemType.PROBLEM_TYPE_CLASSIFICATION
                if problem_type == "classification"
                else uc.MonitorInferenceLogProblemType.PROBLEM_TYPE_REGRESSION)
        bare = full.rsplit(".", 1)[-1]
        return self.w.quality_monitors.create(
            table_name=full,
            assets_dir=assets_dir or f"/Workspace/Users/{self.user}/lakeprep/monitors/{bare}",
            output_schema_name=f"{self.catalog}.{self.schema}",
            inference_log=uc.MonitorInferenceLog(
                problem_type=kind, timestamp_col=timestamp_col, granularities=list(granularities),
                prediction_col=prediction_col, model_id_col=model_id_col, label_col=label_col,
                prediction_proba_col=prediction_proba_col),
            baseline_table_name=self.full_name(baseline_table) if baseline_table else None,
            slicing_exprs=list(slicing_exprs) if slicing_exprs else None)

    def refresh_monitor(self, table: str):
        """Start a refresh (asynchronous, serverless); returns its info with the refresh id."""
        return self.w.quality_monitors.run_refresh(table_name=self.full_name(table))


def _updating(current) -> bool:
    from databricks.sdk.service.serving import EndpointStateConfigUpdate

    return getattr(getattr(current, "state", None), "config_update", None) == \
        EndpointStateConfigUpdate.IN_PROGRESS


def _entity_messages(current) -> str:
    from lakeprep.platform.databricks import scrub

    entities = getattr(getattr(current, "config", None), "served_entities", None) or []
    messages = [f"{e.name}: {e.state.deployment_state_message}" for e in entities
                if getattr(e, "state", None) and e.state.deployment_state_message]
    return ("; " + "; ".join(scrub(m) for m in messages)) if messages else ""


# -- one endpoint, the local Endpoint's surface -----------------------------------------------------

class DatabricksEndpoint(FrameScoring):
    """One Model Serving endpoint serving one version of a registered model, resolved from an
    alias when started. Mirrors `lakeprep.serving.Endpoint` (start, stop, query, predict, ref,
    version, url, context manager) so that lab code runs unchanged; `stop()` deletes the endpoint
    (pass `keep=True` to scale it to zero instead)."""

    def __init__(self, serving: DatabricksServing, model: str, *, name: str | None = None,
                 workload_size: str = "Small", scale_to_zero: bool = True,
                 startup_timeout: float = 1800.0, label: str = "", keep: bool = False, **_ignored):
        self.serving, self.model, self._name = serving, model, name or label or None
        self.workload_size, self.scale_to_zero = workload_size, scale_to_zero
        self.startup_timeout, self.keep = startup_timeout, keep
        self.ref = None
        self.started_seconds = 0.0
        self.port = self.process = self.log_file = None   # no local process on this target
        self._started = False

    def check(self) -> None:
        from lakeprep.serving import ModelRef, parse_model

        name, alias, version = parse_model(self.model)
        served = self.serving.resolve(name, alias or version)
        self.ref = ModelRef(served.model, alias, served.version)

    @property
    def name(self) -> str:
        if self._name:
            return self._name
        suffix = (self.ref.alias or f"v{self.ref.version}") if self.ref else ""
        return self.serving.endpoint_name(self.ref.name if self.ref else self.model, suffix)

    @property
    def version(self) -> str:
        return self.ref.version if self.ref else ""

    @property
    def url(self) -> str:
        """`<host>/serving-endpoints/<name>`; POST `/invocations` below it with a bearer token."""
        return f"{self.serving.host()}/serving-endpoints/{self.name}"

    @property
    def where(self) -> str:
        """Where the endpoint runs, in words fit for a plot title or a report."""
        return f"Model Serving endpoint {self.name}"

    def load_target(self):
        """The invocations URL and the workspace's auth headers, for `lakeprep.loadtest`.
        The headers come from the SDK's own credential chain and are never printed."""
        from lakeprep.loadtest import workspace_target

        headers = self.serving.w.config.authenticate()
        return workspace_target(self.serving.host(), f"/serving-endpoints/{self.name}/invocations", headers)

    def start(self) -> "DatabricksEndpoint":
        if self._started:
            return self
        self.check()
        began = time.monotonic()
        served = ServedVersion(self.ref.name, self.ref.version, self.workload_size, self.scale_to_zero)
        self.serving.deploy(self.name, [served], timeout_s=self.startup_timeout)
        self.started_seconds = time.monotonic() - began
        self._started = True
        return self

    def running(self) -> bool:
        return self._started

    def stop(self, timeout: float = 0.0) -> None:
        if not self._started:
            return
        self._started = False
        if self.keep:
            self.serving.scale_to_zero(self.name)
        else:
            self.serving.delete(self.name)

    def __enter__(self) -> "DatabricksEndpoint":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def query(self, body=None, *, data=None, content_type: str = "application/json",
              retries: int = 0, session=None, timeout: float | None = None):
        return self.serving.query(self.name, body, data=data, content_type=content_type,
                                  model_version=self.version, retries=retries)

    def __repr__(self) -> str:
        return f"DatabricksEndpoint({self.model!r}, name={self.name!r}, version={self.version!r})"
