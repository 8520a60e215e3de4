"""The Databricks target: a workspace with Unity Catalog, reached from a cluster or, for Spark
only, from a laptop through Databricks Connect.

Every difference from the local target lives here, so that lab cells never branch:

- Spark is the cluster's session (Databricks Connect from a laptop);
- names are real three-level Unity Catalog names in one catalog and a per-learner schema
  (`lakeprep_<short user name>` unless given), created on first use together with a volume;
- files and checkpoints go to `/Volumes/<catalog>/<schema>/<volume>/...`;
- MLflow tracks to `databricks` and registers to `databricks-uc`, in `/Users/<user>/lakeprep/`;
- secrets come from a secret scope, then from `LAKEPREP_SECRET_<KEY>`;
- features, serving and monitoring use the real clients (`feature_client()`, `serving()`,
  `endpoint()`).

Nothing Databricks-specific is imported at module level: the local target imports this module
only for `job_parameters`, and databricks-sdk, databricks-connect and
databricks-feature-engineering stay optional (the ML runtime ships them).
"""
from __future__ import annotations

import base64
import os
import posixpath
import re
from functools import cached_property
from pathlib import Path

from lakeprep.errors import LakeprepError
from lakeprep.platform.base import _NAME, Platform, Secret

_TOKEN = re.compile(r"dapi[0-9a-f]{32}(-\d+)?")
CONFIG_FILE = "lakeprep/config/databricks.yml"


# -- small pure helpers (tested on their own) -------------------------------------------------

def scrub(text: str, environ=None) -> str:
    """`text` with anything that looks like a Databricks token replaced. Error messages from the
    SDK or Databricks Connect pass through here before they reach a notebook output."""
    environ = os.environ if environ is None else environ
    text = _TOKEN.sub("[REDACTED]", str(text))
    token = environ.get("DATABRICKS_TOKEN") or ""
    if len(token) >= 8:
        text = text.replace(token, "[REDACTED]")
    return text


def short_name(user_name: str, display_name: str = "") -> str:
    """The user's short name as the Databricks CLI derives it for bundles
    (`${workspace.current_user.short_name}`): the part of the e-mail before `@`, every run of other
    characters as one `_`. A service principal's user name is its application id; the CLI then
    prefers the display name. Kept identical so that a schema made by the bundle and one made by
    an interactive run are the same schema. Non-ASCII letters become `_` here (the CLI keeps
    them) because lab object names are ASCII."""
    base = user_name.split("@", 1)[0] if "@" in user_name else (display_name or user_name)
    name = re.sub(r"[^A-Za-z0-9]+", "_", base).strip("_").lower()
    return name or "user"


def default_schema(user_name: str, display_name: str = "") -> str:
    return f"lakeprep_{short_name(user_name, display_name)}"


def secret_variable(key: str) -> str:
    """The environment variable that stands in for secret `key` (same rule as the local target)."""
    return "LAKEPREP_SECRET_" + re.sub(r"[^A-Za-z0-9]", "_", key).upper()


def job_parameters(defaults: dict, *, environ=None, dbutils=None) -> dict:
    """`defaults` (the notebook's parameters cell) overridden by the job's parameters.

    A Databricks job passes `notebook_task.base_parameters` as widgets, not through the cell
    tagged `parameters` (that is papermill's mechanism), so on a Databricks runtime each key that a
    widget defines wins; elsewhere `defaults` come back unchanged. `seed` stays an int."""
    environ = os.environ if environ is None else environ
    merged = dict(defaults)
    if dbutils is None and not environ.get("DATABRICKS_RUNTIME_VERSION"):
        return merged
    dbutils = dbutils or _notebook_dbutils()
    if dbutils is None:
        return merged
    for key in defaults:
        try:
            value = dbutils.widgets.get(key)
        except Exception:  # no widget of that name: the cell's value stands
            continue
        if value is None or value == "":
            continue
        merged[key] = int(value) if key == "seed" else value
    return merged


def inject_job_parameters(defaults: dict, *, environ=None, dbutils=None, namespace=None) -> dict:
    """`job_parameters`, and the overridden values written back into the notebook's globals, as
    papermill's injected cell would: later cells that read `target`, `seed`, `catalog` ... (not
    only the platform) then see the job's values. `namespace` defaults to the running notebook's."""
    merged = job_parameters(defaults, environ=environ, dbutils=dbutils)
    changed = {k: v for k, v in merged.items() if defaults.get(k) != v}
    if changed:
        if namespace is None:
            try:
                from IPython import get_ipython

                shell = get_ipython()
                namespace = shell.user_ns if shell is not None else None
            except ImportError:
                namespace = None
        if namespace is not None:
            namespace.update(changed)
    return merged


def _notebook_dbutils():
    """The `dbutils` of the running Databricks notebook, or None outside one."""
    try:
        from IPython import get_ipython

        shell = get_ipython()
        if shell is not None and "dbutils" in shell.user_ns:
            return shell.user_ns["dbutils"]
    except ImportError:
        pass
    try:  # pragma: no cover - only on a Databricks runtime
        from pyspark.dbutils import DBUtils
        from pyspark.sql import SparkSession

        return DBUtils(SparkSession.getActiveSession())
    except Exception:
        return None


def missing_package(package: str, module: str, purpose: str) -> LakeprepError:
    return LakeprepError(
        f"{purpose} needs the `{package}` package (import `{module}`), which is not installed. "
        f"On a workspace it ships with the Databricks Runtime for Machine Learning: attach the "
        f"notebook to an ML runtime cluster (see docs: Run on Databricks). Elsewhere: "
        f"pip install {package}")


# -- the platform --------------------------------------------------------------------------------

class DatabricksPlatform(Platform):
    """Unity Catalog, Spark, MLflow, secrets, features and serving on a Databricks workspace.

    The keyword-only arguments after `schema` exist for the contract tests, which pass fakes
    (no network); in a notebook they stay None and the real clients are created on first use.
    """

    target = "databricks"

    def __init__(self, settings, *, catalog: str = "", schema: str = "", environ=None,
                 workspace=None, spark=None, dbutils=None, mlflow_client=None):
        self.environ = os.environ if environ is None else environ
        self._workspace, self._given_spark = workspace, spark
        self._given_dbutils, self._mlflow_client = dbutils, mlflow_client
        super().__init__(settings, catalog=catalog, schema=schema)
        if not self.catalog:
            raise LakeprepError(
                "no Unity Catalog catalog is set for the databricks target. Set it in one of: "
                "the `catalog` parameter of the lab's parameters cell (or `--var catalog=...` for "
                f"the bundle), the LAKEPREP_CATALOG environment variable, or `catalog:` in "
                f"{CONFIG_FILE}. Use a catalog where you have USE CATALOG and CREATE SCHEMA.")
        self.volume = settings.get("volume") or "lab_files"
        if not _NAME.match(self.volume):
            raise LakeprepError(f"volume {self.volume!r} in {CONFIG_FILE} is not a valid name: "
                                "use letters, digits and underscores")
        if not self.schema:  # one schema per learner, the bundle's default too
            me = self._me
            self.schema = default_schema(me.user_name or "", me.display_name or "")

    # -- where we run ------------------------------------------------------------------------
    @property
    def on_cluster(self) -> bool:
        """True inside a Databricks runtime (a notebook or job on a cluster)."""
        return bool(self.environ.get("DATABRICKS_RUNTIME_VERSION"))

    def check_connection(self) -> None:
        """From a laptop, fail early with the setting to fix instead of an SDK stack trace. A
        config profile (~/.databrickscfg or DATABRICKS_CONFIG_PROFILE) is left to the SDK."""
        if self.on_cluster:
            return
        env = self.environ
        config_file = Path(env.get("DATABRICKS_CONFIG_FILE") or Path.home() / ".databrickscfg")
        if env.get("DATABRICKS_CONFIG_PROFILE") or config_file.exists():
            return
        where = ("export it in the shell that starts Jupyter, or put host and token in a profile "
                 "in ~/.databrickscfg (`databricks configure`) and set DATABRICKS_CONFIG_PROFILE")
        if not env.get("DATABRICKS_HOST"):
            raise LakeprepError("DATABRICKS_HOST is not set: the databricks target needs the "
                                f"workspace URL (https://<workspace>.cloud.databricks.com); {where}")
        has_credential = env.get("DATABRICKS_TOKEN") or env.get("DATABRICKS_AUTH_TYPE") or (
            env.get("DATABRICKS_CLIENT_ID") and env.get("DATABRICKS_CLIENT_SECRET"))
        if not has_credential:
            raise LakeprepError("DATABRICKS_TOKEN is not set: DATABRICKS_HOST is, but nothing to "
                                "sign in with; create a personal access token (User Settings > "
                                f"Developer) and {where}. The token is never printed.")

    @property
    def workspace(self):
        """The `databricks.sdk.WorkspaceClient` (the SDK comes with MLflow)."""
        if self._workspace is None:
            self.check_connection()
            try:
                from databricks.sdk import WorkspaceClient
            except ImportError:
                raise missing_package("databricks-sdk", "databricks.sdk", "The databricks target") from None
            try:
                self._workspace = WorkspaceClient()
            except Exception as exc:
                raise LakeprepError(
                    "could not connect to the Databricks workspace: "
                    f"{scrub(exc, self.environ)}; check DATABRICKS_HOST and DATABRICKS_TOKEN "
                    "(or your config profile)") from None
        return self._workspace

    @cached_property
    def _me(self):
        return self.workspace.current_user.me()

    @property
    def user(self) -> str:
        """The signed-in user name (an e-mail, or a service principal's application id)."""
        return self._me.user_name

    # -- Spark and Unity Catalog ----------------------------------------------------------------
    def _create_spark(self):
        spark = self._session()
        self._ensure_schema_and_volume(spark)
        return spark

    def _session(self):
        if self._given_spark is not None:
            return self._given_spark
        if self.on_cluster:
            from pyspark.sql import SparkSession

            return SparkSession.getActiveSession() or SparkSession.builder.getOrCreate()
        self.check_connection()
        try:
            from databricks.connect import DatabricksSession
        except ImportError:
            raise LakeprepError(
                "Spark for the databricks target outside a cluster needs Databricks Connect "
                "(`databricks-connect`, matching your cluster's runtime, in a virtual environment "
                "without pyspark), and DATABRICKS_CLUSTER_ID or DATABRICKS_SERVERLESS_COMPUTE_ID=auto. "
                "Simpler: open the notebook in a Git folder on the workspace and attach an ML "
                "runtime cluster.") from None
        try:
            return DatabricksSession.builder.getOrCreate()
        except Exception as exc:
            raise LakeprepError(f"Databricks Connect could not start a session: "
                                f"{scrub(exc, self.environ)}") from None

    def _ensure_schema_and_volume(self, spark) -> None:
        """Create the learner's schema and volume when allowed; carry on when they already exist
        (an admin may have made them for a learner without CREATE SCHEMA)."""
        schema = f"{self.catalog}.{self.schema}"
        volume = f"{schema}.{self.volume}"
        steps = (
            (f"CREATE SCHEMA IF NOT EXISTS {schema}", f"DESCRIBE SCHEMA {schema}",
             f"the schema {schema}", f"USE CATALOG on {self.catalog} and CREATE SCHEMA (or ask an "
                                     f"admin to create {schema} and grant you USE SCHEMA and "
                                     "CREATE TABLE on it)"),
            (f"CREATE VOLUME IF NOT EXISTS {volume}", f"DESCRIBE VOLUME {volume}",
             f"the volume {volume}", f"CREATE VOLUME on {schema} (or ask for READ VOLUME and "
                                     f"WRITE VOLUME on an existing {volume})"),
        )
        for create, describe, what, privileges in steps:
            try:
                spark.sql(create)
                continue
            except Exception as exc:
                first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                cause = scrub(first_line, self.environ)
            try:
                spark.sql(describe)
            except Exception:
                raise LakeprepError(f"cannot create {what} ({cause}); you need {privileges}. "
                                    "Or pick another catalog/schema in the parameters cell.") from None

    def table(self, name: str) -> str:
        return self.full_name(name)

    def path(self, *parts: str) -> str:
        """A location in the learner's UC volume; FUSE-mounted on clusters, so pathlib works."""
        for part in parts:
            if not part or part.startswith("/") or any(s in ("", ".", "..") for s in part.split("/")):
                raise LakeprepError(f"path part {part!r}: give relative names without '..'")
        return posixpath.join("/Volumes", self.catalog, self.schema, self.volume, *parts)

    # -- MLflow ----------------------------------------------------------------------------
    @property
    def tracking_uri(self) -> str:
        return "databricks"

    @property
    def registry_uri(self) -> str:
        return "databricks-uc"

    def experiment_path(self, name: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
            raise LakeprepError(f"experiment name {name!r}: use letters, digits, '-', '_' or '.'")
        return f"/Users/{self.user}/lakeprep/{name}"

    def experiment(self, name: str) -> str:
        # MLflow on Databricks does not create missing parent folders of an experiment path.
        self.workspace.workspace.mkdirs(posixpath.dirname(self.experiment_path(name)))
        return super().experiment(name)

    def mlflow_client(self):
        if self._mlflow_client is None:
            from mlflow import MlflowClient

            self.setup_mlflow()
            self._mlflow_client = MlflowClient(tracking_uri=self.tracking_uri,
                                               registry_uri=self.registry_uri)
        return self._mlflow_client

    # -- secrets -----------------------------------------------------------------------------
    @property
    def secret_scope(self) -> str:
        return self.settings.get("secret_scope") or "lakeprep"

    def _dbutils(self):
        return self._given_dbutils or _notebook_dbutils()

    def secret(self, key: str) -> Secret:
        """From the secret scope (dbutils on a cluster, the Secrets API elsewhere), then from
        LAKEPREP_SECRET_<KEY>. Only the key and the scope ever appear in messages."""
        scope, variable = self.secret_scope, secret_variable(key)
        value, why = None, ""
        try:
            if self.on_cluster:
                dbutils = self._dbutils()
                if dbutils is None:
                    raise LakeprepError("no dbutils in this session")
                value = dbutils.secrets.get(scope=scope, key=key)
            else:
                reply = self.workspace.secrets.get_secret(scope=scope, key=key)
                value = base64.b64decode(reply.value).decode("utf-8") if reply.value else None
        except Exception as exc:  # fall back to the environment; say why the scope failed
            first_line = str(exc).splitlines()[0] if str(exc) else ""
            why = f" ({type(exc).__name__}: {scrub(first_line, self.environ)})"
        value = value or self.environ.get(variable)
        if not value:
            raise LakeprepError(
                f"secret {key!r} is in neither the secret scope {scope!r}{why} nor the environment "
                f"variable {variable}. Create it with `databricks secrets put-secret {scope} {key}` "
                f"and grant READ on the scope, or export {variable}=... (scope: `secret_scope` in "
                f"{CONFIG_FILE})")
        return Secret(key, value)

    # -- features, serving, monitoring -----------------------------------------------------
    def feature_client(self):
        """The real `databricks.feature_engineering.FeatureEngineeringClient`: the same calls
        the labs make on the local client (create_table, write_table, create_training_set,
        log_model, score_batch ...), against Unity Catalog. It runs only on a Databricks runtime."""
        try:
            from databricks.feature_engineering import FeatureEngineeringClient
        except ImportError:
            raise missing_package("databricks-feature-engineering", "databricks.feature_engineering",
                                  "The Feature Engineering client") from None
        if not self.on_cluster:
            raise LakeprepError(
                "the Feature Engineering client runs only on a Databricks runtime, not through "
                "Databricks Connect: run this lab in a notebook on an ML runtime cluster")
        return FeatureEngineeringClient()

    @cached_property
    def _serving(self):
        from lakeprep.platform.serving_databricks import DatabricksServing

        return DatabricksServing(self.workspace, catalog=self.catalog, schema=self.schema,
                                 user=self.user, mlflow_client=self._mlflow_client_factory)

    def _mlflow_client_factory(self):
        return self.mlflow_client()

    def serving(self):
        """Model Serving endpoints, AI Gateway inference tables and quality monitors."""
        return self._serving

    def endpoint(self, model: str, **options):
        """A Model Serving endpoint for `model` (NAME@ALIAS or NAME/VERSION) with the surface of
        the local `lakeprep.serving.Endpoint`: start, query, predict, stop, ref, version, url."""
        from lakeprep.platform.serving_databricks import DatabricksEndpoint

        return DatabricksEndpoint(self.serving(), model, **options)

    def capture_requests(self, endpoint) -> str:
        """An AI Gateway inference table for the endpoint (legacy auto-capture can no longer be
        enabled); returns the payload table's three-level name."""
        return self.serving().enable_inference_table(endpoint.name)

    def monitor_predictions(self, table: str, *, prediction_col: str, model_id_col: str,
                            timestamp_col: str) -> dict:
        """A Lakehouse Monitoring quality monitor (InferenceLog) on the prediction table, then a
        refresh. The score is a probability, so it is monitored as a continuous output (its
        distribution and drift); labels arrive a month later and are joined by a later refresh."""
        serving = self.serving()
        info = serving.create_monitor(table, prediction_col=prediction_col, model_id_col=model_id_col,
                                      timestamp_col=timestamp_col, problem_type="regression")
        refresh = serving.refresh_monitor(table)
        return {"table": serving.full_name(table), "monitor": "Lakehouse Monitoring (InferenceLog)",
                "metrics_table": getattr(info, "drift_metrics_table_name", None)
                or f"{serving.full_name(table)}_drift_metrics",
                "dashboard": getattr(info, "dashboard_id", None), "refresh_id": getattr(refresh, "refresh_id", None)}

    # -- evidence ----------------------------------------------------------------------------
    def environment(self) -> dict:
        info = super().environment()
        info.update({
            "databricks_runtime": self.environ.get("DATABRICKS_RUNTIME_VERSION"),
            "connection": "cluster" if self.on_cluster else "databricks-connect",
            "volume": self.volume,
        })
        return info

    def __repr__(self) -> str:
        return (f"DatabricksPlatform(catalog={self.catalog!r}, schema={self.schema!r}, "
                f"volume={self.volume!r})")
