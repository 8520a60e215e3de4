"""The interface every target implements. Lab notebooks only ever talk to this."""
from __future__ import annotations

import os
import platform as _os_platform
import re
from abc import ABC, abstractmethod
from functools import cached_property

from lakeprep.errors import LakeprepError, MissingArtifactError

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class Secret:
    """A secret value that never shows itself in a notebook output, a log or a traceback."""

    __slots__ = ("_key", "_value")

    def __init__(self, key: str, value: str):
        self._key, self._value = key, value

    def get(self) -> str:
        """The value, for the one place that needs it (an Authorization header, say)."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret({self._key!r}, value=[REDACTED])"

    __str__ = __repr__


class Platform(ABC):
    """Spark, names, MLflow, secrets and paths for one target."""

    target: str

    def __init__(self, settings, *, catalog: str = "", schema: str = ""):
        self.settings = settings
        self.catalog = catalog or settings.get("catalog") or ""
        self.schema = schema or settings.get("schema") or ""
        for what, value in (("catalog", self.catalog), ("schema", self.schema)):
            if value and not _NAME.match(value):
                raise LakeprepError(
                    f"{what} {value!r} is not a valid name: use letters, digits and underscores")

    # -- Spark -------------------------------------------------------------------------------
    @cached_property
    def spark(self):
        """The Spark session, created on first use."""
        return self._create_spark()

    @abstractmethod
    def _create_spark(self): ...

    # -- names -------------------------------------------------------------------------------
    def full_name(self, name: str) -> str:
        """`catalog.schema.name`: the Unity Catalog name of an object, on every target."""
        if not _NAME.match(name):
            raise LakeprepError(f"{name!r} is not a valid object name: use letters, digits and "
                                "underscores, and pass the bare name (the platform adds the "
                                "catalog and schema)")
        return f"{self.catalog}.{self.schema}.{name}"

    @abstractmethod
    def table(self, name: str) -> str:
        """The name to use in SQL and `spark.table()` for the table `name`."""

    def model_name(self, name: str) -> str:
        """The registered-model name: three levels, as Unity Catalog requires."""
        return self.full_name(name)

    def table_exists(self, name: str) -> bool:
        return self.spark.catalog.tableExists(self.table(name))

    def require_tables(self, lab: int, *names: str) -> None:
        """Stop a lab at once when an earlier lab has not produced its tables yet."""
        for name in names:
            if not self.table_exists(name):
                raise MissingArtifactError(lab, self.table(name), "table")

    def require_model(self, lab: int, name: str, alias: str | None = None) -> None:
        from mlflow import MlflowClient
        from mlflow.exceptions import MlflowException

        full = self.model_name(name)
        client = MlflowClient()
        try:
            if alias:
                client.get_model_version_by_alias(full, alias)
            else:
                client.get_registered_model(full)
        except MlflowException:
            raise MissingArtifactError(lab, f"{full}@{alias}" if alias else full, "model") from None

    # -- MLflow ------------------------------------------------------------------------------
    @property
    @abstractmethod
    def tracking_uri(self) -> str: ...

    @property
    @abstractmethod
    def registry_uri(self) -> str: ...

    def setup_mlflow(self):
        """Point MLflow (and any subprocess it starts) at this target's tracking and registry."""
        import mlflow

        os.environ["MLFLOW_TRACKING_URI"] = self.tracking_uri
        os.environ["MLFLOW_REGISTRY_URI"] = self.registry_uri
        mlflow.set_tracking_uri(self.tracking_uri)
        mlflow.set_registry_uri(self.registry_uri)
        return mlflow

    @abstractmethod
    def experiment_path(self, name: str) -> str:
        """Where the experiment `name` lives (a workspace folder on Databricks)."""

    def experiment(self, name: str) -> str:
        """Create the experiment if needed, make it active and return its id."""
        mlflow = self.setup_mlflow()
        path = self.experiment_path(name)
        found = mlflow.get_experiment_by_name(path)
        if found is None:
            experiment_id = mlflow.create_experiment(path, **self._experiment_kwargs(name))
        else:
            experiment_id = found.experiment_id
        mlflow.set_experiment(experiment_id=experiment_id)
        return experiment_id

    def _experiment_kwargs(self, name: str) -> dict:
        return {}

    def endpoint(self, model: str, **options):
        """A served endpoint for NAME@ALIAS, not yet started: a local `mlflow models serve`
        process here, a Model Serving endpoint on Databricks."""
        from lakeprep.serving import Endpoint
        return Endpoint(model, **options)

    @abstractmethod
    def capture_requests(self, endpoint) -> str:
        """Keep every request and response of a started endpoint in a table; returns its name."""

    @abstractmethod
    def monitor_predictions(self, table: str, *, prediction_col: str, model_id_col: str,
                            timestamp_col: str) -> dict:
        """Put a prediction table under drift monitoring; returns where the metrics land."""

    # -- secrets and paths -------------------------------------------------------------------
    @abstractmethod
    def secret(self, key: str) -> Secret:
        """A secret by key, wrapped so that printing it shows nothing."""

    @abstractmethod
    def path(self, *parts: str) -> str:
        """A file location for lab state outside tables (raw files, checkpoints)."""

    # -- evidence ----------------------------------------------------------------------------
    def environment(self) -> dict:
        """Versions that a lab records as evidence of where it ran."""
        from importlib import metadata

        def version(package):
            try:
                return metadata.version(package)
            except metadata.PackageNotFoundError:
                return None

        return {
            "target": self.target,
            "python": _os_platform.python_version(),
            "os": f"{_os_platform.system()} {_os_platform.machine()}",
            "spark": self.spark.version,
            "delta": version("delta-spark"),
            "mlflow": version("mlflow") or version("mlflow-skinny"),
            "catalog": self.catalog,
            "schema": self.schema,
        }

    def __repr__(self) -> str:
        return f"{type(self).__name__}(catalog={self.catalog!r}, schema={self.schema!r})"
