"""The local target: PySpark with Delta Lake and a Derby metastore, MLflow on SQLite, all inside
the workspace folder. It stands in for a Databricks workspace with Unity Catalog."""
from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from lakeprep import workspace
from lakeprep.errors import LakeprepError
from lakeprep.platform.base import Platform, Secret

LOG_CONFIG = Path(__file__).resolve().parent.parent / "config" / "log4j2.properties"


class LocalPlatform(Platform):
    target = "local"

    def __init__(self, settings, *, catalog: str = "", schema: str = ""):
        super().__init__(settings, catalog=catalog, schema=schema)
        self.home: Path = workspace.workspace_dir(settings)

    # Unity Catalog has three levels; the local metastore has databases and tables. The catalog
    # and schema fold into one database name, so `lakeprep.course.x` becomes `lakeprep_course.x`.
    @property
    def database(self) -> str:
        return f"{self.catalog}_{self.schema}"

    def table(self, name: str) -> str:
        self.full_name(name)  # validates the bare name
        return f"{self.database}.{name}"

    def _create_spark(self):
        from lakeprep import jars
        from lakeprep.doctor import require_java

        require_java()
        cached = jars.cached_jars(self.settings)
        if not cached:
            raise LakeprepError(
                f"the Delta Lake JARs are not in {jars.cache_folder(self.settings)}; "
                "run `make jars` once (it needs Maven Central), then start the lab again")
        workspace.ensure(self.settings)
        from pyspark.sql import SparkSession

        home = self.home
        metastore = home / workspace.LAYOUT["metastore"]
        s = self.settings
        builder = (
            SparkSession.builder.master(s["spark_master"]).appName("lakeprep")
            .config("spark.jars", ",".join(str(j) for j in cached))
            .config("spark.sql.extensions", "io.delta.sql.DeltaSparkSessionExtension")
            .config("spark.sql.catalog.spark_catalog",
                    "org.apache.spark.sql.delta.catalog.DeltaCatalog")
            .config("spark.sql.sources.default", "delta")
            .config("spark.sql.catalogImplementation", "hive")
            .config("spark.sql.warehouse.dir", str(home / workspace.LAYOUT["warehouse"]))
            .config("spark.hadoop.javax.jdo.option.ConnectionURL",
                    f"jdbc:derby:;databaseName={metastore / 'metastore_db'};create=true")
            .config("spark.driver.extraJavaOptions",
                    f"-Dderby.system.home={metastore} -Dlog4j2.configurationFile={LOG_CONFIG} "
                    # the throughput collector: on 2 cores G1's concurrent threads compete with the
                    # tasks; lab 2 ran about 5 % faster with it (paired runs, same snapshot)
                    "-XX:+UseParallelGC")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.shuffle.partitions", str(s["spark_shuffle_partitions"]))
            .config("spark.default.parallelism", str(s["spark_shuffle_partitions"]))
            # Delta replays its log with 50 partitions by default: far too many for lab tables.
            .config("spark.databricks.delta.snapshotPartitions", "2")
            .config("spark.driver.memory", s["spark_driver_memory"])
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.driver.host", "127.0.0.1")
            .config("spark.driver.bindAddress", "127.0.0.1")
        )
        # Loopback only: nothing a lab starts listens on an outside interface.
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        # Python workers (UDFs) must run this interpreter, not whatever python3 is first on PATH.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
        spark = builder.getOrCreate()
        spark.sparkContext.setLogLevel("ERROR")
        if not spark.catalog.databaseExists(self.database):  # Hive logs an ERROR on IF NOT EXISTS
            spark.sql(f"CREATE DATABASE {self.database}")
        return spark

    @property
    def mlflow_dir(self) -> Path:
        return self.home / workspace.LAYOUT["mlflow"]

    @property
    def tracking_uri(self) -> str:
        self.mlflow_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{self.mlflow_dir / 'mlflow.db'}"

    @property
    def registry_uri(self) -> str:
        return self.tracking_uri

    def experiment_path(self, name: str) -> str:
        return f"/lakeprep/{name}"

    def _experiment_kwargs(self, name: str) -> dict:
        # Without an explicit location, MLflow would write artifacts to ./mlruns of the caller.
        return {"artifact_location": (self.mlflow_dir / "artifacts" / name).as_uri()}

    def feature_client(self):
        """The local look-alike of databricks.feature_engineering.FeatureEngineeringClient."""
        from lakeprep.features.client import FeatureEngineeringClient
        return FeatureEngineeringClient(platform=self)

    def capture_requests(self, endpoint) -> str:
        """A local scoring server keeps nothing itself: the table is the one the client-side
        `lakeprep.inference_log.InferenceLog` writes (lab 5, step 5). On Databricks the endpoint
        itself logs to an AI Gateway inference table."""
        return self.table("inference_log")

    def monitor_predictions(self, table: str, *, prediction_col: str, model_id_col: str,
                            timestamp_col: str) -> dict:
        """There is no monitoring service on a laptop: the lab's own drift step (`lakeprep.drift`)
        computes the metrics and writes them to `drift_metrics`, which is what this returns. On
        Databricks this creates a Lakehouse Monitoring quality monitor (InferenceLog)."""
        return {"table": self.table(table), "monitor": "lakeprep.drift (the lab's drift step)",
                "metrics_table": self.table("drift_metrics")}

    def secret(self, key: str) -> Secret:
        variable = "LAKEPREP_SECRET_" + re.sub(r"[^A-Za-z0-9]", "_", key).upper()
        value = os.environ.get(variable)
        if not value:
            raise LakeprepError(f"secret {key!r} is not set: on the local target secrets come from "
                                f"the environment; export {variable}=... before starting the lab")
        return Secret(key, value)

    def path(self, *parts: str) -> str:
        target = self.home / workspace.LAYOUT["files"] / self.database
        for part in parts:
            target = target / part
        return str(target)
