"""A local `FeatureEngineeringClient`: Delta tables with keys and metadata, point-in-time training
sets, and models that carry their feature lookups.

Names, keyword-only parameters and errors follow `databricks.feature_engineering`, so lab code
written against this client runs unchanged against the real one on a workspace. Differences are
deliberate and few: metadata lives in Delta table properties (`lakeprep.fe.*`) and the table
comment instead of Unity Catalog; `FeatureFunction` calls a Spark SQL function; a time series
lookup without `timestamp_lookup_key` takes each key's newest row (the "latest snapshot");
`write_table` commits nothing when the DataFrame holds no new or changed rows.
"""
from __future__ import annotations

import getpass
import json
import re
import time

from lakeprep.features import pit
from lakeprep.features.entities import (DEFAULTABLE_TYPES, FeatureFunction, FeatureLookup, FeatureTable,
                                        TrainingSet, _as_list)

PROP = "lakeprep.fe."
_NAME_PART = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class FeatureEngineeringClient:
    """Create, write and read feature tables; build training sets; log and score models.

    `platform` (a `lakeprep.platform.Platform`) maps three-level names onto the local metastore
    (`catalog.schema.table` -> `catalog_schema.table`) and provides Spark; `resolve_name` may
    replace that mapping, `spark` the session.
    """

    def __init__(self, *, model_registry_uri: str | None = None, platform=None, spark=None, resolve_name=None):
        self.model_registry_uri = model_registry_uri
        self._platform = platform
        self._spark = spark
        self._resolve_name = resolve_name

    # -- plumbing ----------------------------------------------------------------------------------
    @property
    def spark(self):
        if self._spark is not None:
            return self._spark
        if self._platform is not None:
            return self._platform.spark
        from pyspark.sql import SparkSession
        active = SparkSession.getActiveSession()
        if active is None:
            raise RuntimeError("no Spark session: pass platform= or spark= to FeatureEngineeringClient")
        return active

    def local_name(self, name: str) -> str:
        """The metastore name for a feature table name (one, two or three parts)."""
        if self._resolve_name is not None:
            return self._resolve_name(name)
        parts = name.split(".") if isinstance(name, str) else []
        if not parts or len(parts) > 3 or not all(_NAME_PART.match(x) for x in parts):
            raise ValueError(f"{name!r} is not a valid feature table name: use catalog.schema.table")
        p = self._platform
        if len(parts) == 3:
            catalog, schema, table = parts
            if p is not None and (catalog, schema) == (p.catalog, p.schema):
                return p.table(table)
            return f"{catalog}_{schema}.{table}"
        if len(parts) == 2:
            catalog = p.catalog if p is not None else None
            return f"{catalog}_{parts[0]}.{parts[1]}" if catalog else name
        return p.table(parts[0]) if p is not None else name

    def _exists(self, local: str) -> bool:
        return self.spark.catalog.tableExists(local)

    def _require(self, name: str) -> str:
        local = self.local_name(name)
        if not self._exists(local):
            raise ValueError(f"feature table {name} does not exist (looked for {local})")
        return local

    # -- tables ------------------------------------------------------------------------------------
    def create_table(self, *, name: str, primary_keys, df=None, timeseries_column: str | None = None,
                     partition_columns=None, schema=None, description: str | None = None,
                     tags: dict | None = None, **kwargs) -> FeatureTable:
        """Create a Delta feature table with primary keys (NOT NULL) and optional timeseries key.

        `timestamp_keys` and the old `timeseries_columns` are accepted for `timeseries_column`.
        When `df` is given its rows are written (merge) after the table is created.
        """
        legacy = None
        for old in ("timestamp_keys", "timeseries_columns"):
            if old in kwargs:
                legacy = kwargs.pop(old)
        if kwargs:
            raise TypeError(f"create_table() got unexpected keyword argument(s): {', '.join(sorted(kwargs))}")
        if legacy is not None:
            legacy = _as_list(legacy, "timestamp_keys")
            if timeseries_column is not None and legacy != [timeseries_column]:
                raise ValueError("give the timeseries column once: timeseries_column or timestamp_keys")
            if len(legacy) > 1:
                raise ValueError(f"a feature table has at most one timeseries column, got {legacy}")
            timeseries_column = legacy[0] if legacy else None
        if isinstance(timeseries_column, (list, tuple)):
            raise ValueError(f"a feature table has at most one timeseries column, got {list(timeseries_column)}")
        keys = _as_list(primary_keys, "primary_keys")
        if not keys:
            raise ValueError("primary_keys must name at least one column")
        if df is None and schema is None:
            raise ValueError("create_table needs df or schema to know the table's columns")
        if schema is None:
            schema = df.schema
        elif df is not None:
            theirs = {f.name: f.dataType for f in df.schema.fields}
            ours = {f.name: f.dataType for f in schema.fields}
            if theirs != ours:
                raise ValueError(f"the schema of df does not match schema for {name}: "
                                 f"{_schema_diff(ours, theirs)}")
        from pyspark.sql import types as T
        columns = {f.name: f for f in schema.fields}
        for k in keys:
            if k not in columns:
                raise ValueError(f"primary key {k!r} is not a column of {name}; columns: {', '.join(columns)}")
        if timeseries_column is not None:
            if timeseries_column not in keys:
                raise ValueError(f"timeseries_column {timeseries_column!r} must be one of the primary keys "
                                 f"{keys} of {name}")
            if not isinstance(columns[timeseries_column].dataType, pit.TIME_TYPES):
                raise ValueError(f"timeseries_column {timeseries_column!r} must be a DATE or TIMESTAMP column, not "
                                 f"{columns[timeseries_column].dataType.simpleString()}")
        parts = _as_list(partition_columns, "partition_columns")
        for c in parts:
            if c not in columns:
                raise ValueError(f"partition column {c!r} is not a column of {name}")
        local = self.local_name(name)
        if self._exists(local):
            raise ValueError(f"feature table {name} already exists; use write_table to add rows or "
                             "drop_table first")
        database = local.rsplit(".", 1)[0] if "." in local else None
        if database and not self.spark.catalog.databaseExists(database):
            self.spark.sql(f"CREATE DATABASE {database}")
        tags = {str(k): str(v) for k, v in (tags or {}).items()}
        props = {
            PROP + "primary_keys": json.dumps(keys),
            PROP + "timeseries_column": timeseries_column or "",
            PROP + "tags": json.dumps(tags, sort_keys=True),
            PROP + "owner": tags.get("owner") or getpass.getuser(),
            PROP + "data_sources": json.dumps(_sources(df) if df is not None else []),
            PROP + "name": name,
        }
        cols = []
        for f in schema.fields:
            ddl = f"`{f.name}` {f.dataType.simpleString()}"
            if f.name in keys or not f.nullable:
                ddl += " NOT NULL"
            comment = (f.metadata or {}).get("comment")
            if comment:
                ddl += f" COMMENT {_sql_str(comment)}"
            cols.append(ddl)
        sql = f"CREATE TABLE {local} ({', '.join(cols)}) USING DELTA"
        if parts:
            sql += f" PARTITIONED BY ({', '.join(f'`{c}`' for c in parts)})"
        if description:
            sql += f" COMMENT {_sql_str(description)}"
        sql += " TBLPROPERTIES (" + ", ".join(f"{_sql_str(k)} = {_sql_str(v)}" for k, v in props.items()) + ")"
        self.spark.sql(sql)
        if df is not None:
            self.write_table(name=name, df=df)
        return self.get_table(name=name)

    def get_table(self, *, name: str) -> FeatureTable:
        local = self._require(name)
        detail = self.spark.sql(f"DESCRIBE DETAIL {local}").first().asDict()
        props = dict(detail.get("properties") or {})
        if PROP + "primary_keys" not in props:
            raise ValueError(f"{name} is a table but not a feature table: it has no primary key "
                             "(create it with create_table)")
        keys = json.loads(props[PROP + "primary_keys"])
        columns = self.spark.table(local).columns
        return FeatureTable(
            name=name, table_id=detail.get("id"), path=detail.get("location"), primary_keys=keys,
            timeseries_column=props.get(PROP + "timeseries_column") or None,
            features=[c for c in columns if c not in keys], description=detail.get("description"),
            tags=json.loads(props.get(PROP + "tags", "{}")), partition_columns=list(detail.get("partitionColumns") or []),
            owner=props.get(PROP + "owner"),
            data_sources=json.loads(props.get(PROP + "data_sources", "[]")) or _tag_list(props, "sources"),
            creation_timestamp=detail.get("createdAt"), local_name=local, properties=props,
            num_files=int(detail.get("numFiles") or 0))

    def read_table(self, *, name: str, **kwargs):
        return self.spark.table(self._require(name))

    def drop_table(self, *, name: str) -> None:
        local = self.local_name(name)
        if not self._exists(local):
            raise ValueError(f"feature table {name} does not exist")
        self.spark.sql(f"DROP TABLE {local}")

    def set_feature_table_tag(self, *, name: str, key: str, value: str) -> None:
        table = self.get_table(name=name)
        tags = dict(table.tags, **{key: str(value)})
        self.spark.sql(f"ALTER TABLE {table.local_name} SET TBLPROPERTIES "
                       f"({_sql_str(PROP + 'tags')} = {_sql_str(json.dumps(tags, sort_keys=True))})")

    def delete_feature_table_tag(self, *, name: str, key: str) -> None:
        table = self.get_table(name=name)
        tags = {k: v for k, v in table.tags.items() if k != key}
        self.spark.sql(f"ALTER TABLE {table.local_name} SET TBLPROPERTIES "
                       f"({_sql_str(PROP + 'tags')} = {_sql_str(json.dumps(tags, sort_keys=True))})")

    def write_table(self, *, name: str, df, mode: str = "merge", checkpoint_location: str | None = None,
                    trigger: dict | None = None):
        """Upsert `df` into the feature table on its primary keys (the only mode is "merge").

        Exact duplicate rows are dropped. Rows equal to what the table holds are skipped, and a
        DataFrame with nothing new commits nothing; among the rows that would change the table,
        two with the same key and different values raise ValueError, since either could win.
        Columns the table lacks are added (schema evolution); columns `df` lacks keep their values.
        A streaming `df` is merged batch by batch and the `StreamingQuery` is returned.
        """
        if mode != "merge":
            raise ValueError(f"mode {mode!r} is not supported: write_table only merges (mode='merge')")
        table = self.get_table(name=name)
        keys = table.primary_keys
        target = self.spark.table(table.local_name)
        tschema = {f.name: f.dataType for f in target.schema.fields}
        missing = [k for k in keys if k not in df.columns]
        if missing:
            raise ValueError(f"df lacks the primary key column(s) {missing} of {name}")
        for f in df.schema.fields:
            if f.name in tschema and tschema[f.name] != f.dataType:
                raise ValueError(f"column {f.name!r} of df is {f.dataType.simpleString()} but {name} stores "
                                 f"{tschema[f.name].simpleString()}; cast it first")
        if df.isStreaming:
            def merge_batch(batch, _id):
                # re-read the table each time: the first batch may turn an empty table into a full one
                current = self.get_table(name=name)
                self._merge(current, batch, {f.name: f.dataType
                                             for f in self.spark.table(current.local_name).schema.fields})
            writer = df.writeStream.foreachBatch(merge_batch)
            if checkpoint_location:
                writer = writer.option("checkpointLocation", checkpoint_location)
            if trigger:
                writer = writer.trigger(**trigger)
            return writer.start()
        return self._merge(table, df, tschema)

    def _merge(self, table: FeatureTable, df, tschema) -> dict:
        from pyspark.sql import functions as F
        from pyspark.sql import types as T

        spark, keys = self.spark, table.primary_keys
        source = df
        common = [c for c in source.columns if c in tschema]
        new_columns = [c for c in source.columns if c not in tschema]
        empty = not table.num_files
        ts = table.timeseries_column if table.timeseries_column in source.columns else None
        window = ""
        target = spark.table(table.local_name)
        if ts and not empty:
            # the rows of a time series table that df can touch lie between its first and last
            # timestamp: say so, and Delta skips the files outside that range (reads and rewrites)
            if isinstance(tschema[ts], T.DateType):
                lo, hi = source.agg(F.min(F.unix_date(ts)), F.max(F.unix_date(ts))).first()
                bound = "date_from_unix_date({})"
            else:
                lo, hi = source.agg(F.min(F.unix_micros(ts)), F.max(F.unix_micros(ts))).first()
                bound = "timestamp_micros({})"
            if lo is not None:
                window = f" AND t.`{ts}` >= {bound.format(lo)} AND t.`{ts}` <= {bound.format(hi)}"
                target = target.where(f"`{ts}` >= {bound.format(lo)} AND `{ts}` <= {bound.format(hi)}")
        if new_columns or empty:
            changes = source
        else:
            # only rows that are new or differ from the table: a rerun with the same data is free
            # (EXCEPT DISTINCT: every copy of a row the table already holds goes, whatever the count)
            changes = source.subtract(target.select(*common))
        changes = changes.cache()
        try:
            # one job: how many rows would change, and whether rows share a key with equal values
            # (exact copies, dropped) or with different values (a conflict: either could win)
            # xxhash64 skips NULL arguments, so the NULL pattern is hashed too: (NULL, 1) and
            # (1, NULL) must not look like the same row
            others = [F.col(f"`{c}`") for c in source.columns if c not in keys]
            values = F.xxhash64(*others, *[c.isNull() for c in others]) if others else F.lit(0)
            per_key = changes.groupBy(*keys).agg(F.count(F.lit(1)).alias("rows"), F.min(values).alias("lo"),
                                                  F.max(values).alias("hi"))
            stats = per_key.agg(F.sum("rows").alias("n"), F.count_if(F.col("lo") != F.col("hi")).alias("conflicts"),
                                F.count_if(F.col("rows") > 1).alias("repeated")).first()
            n = int(stats["n"] or 0)
            if n == 0:
                return {"table": table.name, "changed_rows": 0, "committed": False}
            if stats["conflicts"]:
                clash = per_key.where("lo != hi").limit(3).collect()
                shown = "; ".join(", ".join(f"{k}={r[k]!r}" for k in keys) for r in clash)
                raise ValueError(f"df holds different rows for the same primary key of {table.name} ({shown}): "
                                 "deduplicate or aggregate before writing")
            if stats["repeated"]:
                deduped = changes.dropDuplicates().cache()
                n = deduped.count()          # fills the new cache while the old one still serves it
                changes.unpersist()
                changes = deduped
            if empty and not new_columns:
                rows = changes.select(*[c for c in tschema if c in source.columns])
                if ts:      # files cover consecutive time ranges, so later merges can skip most of them
                    rows = rows.repartitionByRange(int(spark.conf.get("spark.sql.shuffle.partitions")), ts)
                rows.write.mode("append").saveAsTable(table.local_name)
                return {"table": table.name, "changed_rows": n, "committed": True, "new_columns": []}
            view = f"__fe_changes_{abs(hash((table.name, time.time_ns())))}"
            changes.createOrReplaceTempView(view)
            on = " AND ".join(f"t.`{k}` = s.`{k}`" for k in keys)
            sets = ", ".join(f"`{c}` = s.`{c}`" for c in source.columns if c not in keys)
            cols = ", ".join(f"`{c}`" for c in source.columns)
            vals = ", ".join(f"s.`{c}`" for c in source.columns)
            evolve = " WITH SCHEMA EVOLUTION" if new_columns else ""
            matched = f"WHEN MATCHED THEN UPDATE SET {sets} " if sets else ""
            spark.sql(f"MERGE{evolve} INTO {table.local_name} t USING {view} s ON {on}{window} "
                      f"{matched}WHEN NOT MATCHED THEN INSERT ({cols}) VALUES ({vals})")
            spark.catalog.dropTempView(view)
        finally:
            changes.unpersist()
        return {"table": table.name, "changed_rows": n, "committed": True, "new_columns": new_columns}

    # -- training sets -----------------------------------------------------------------------------
    def create_training_set(self, *, df, feature_lookups=None, feature_spec=None, features=None, label,
                            exclude_columns=None, use_spark_native_join: bool = False, **kwargs) -> TrainingSet:
        """Join the features of every lookup to `df` (point in time where a timestamp key is given).

        All arguments are checked against `df`'s schema and the tables' metadata before any Spark
        job runs: a lookup key missing from `df`, keys that do not match the table's primary key
        in number or type, or unknown features raise ValueError.
        """
        if kwargs:
            raise TypeError(f"create_training_set() got unexpected keyword argument(s): {', '.join(sorted(kwargs))}")
        given = [x for x in (feature_lookups, feature_spec, features) if x is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of feature_lookups, feature_spec or features")
        if feature_spec is not None:
            raise NotImplementedError("feature_spec needs Unity Catalog feature specs; pass feature_lookups")
        items = list(feature_lookups if feature_lookups is not None else features)
        exclude = _as_list(exclude_columns, "exclude_columns")
        if label is not None and label not in df.columns:
            raise ValueError(f"label column {label!r} is not in df; columns: {', '.join(df.columns)}")
        joined, feature_columns, versions = self._apply_features(df, items, override=False)
        missing = [c for c in exclude if c not in joined.columns]
        if missing:
            raise ValueError(f"exclude_columns names column(s) not in the training set: {missing}")
        out = joined.drop(*exclude) if exclude else joined
        input_columns = [c for c in out.columns if c != label]
        return TrainingSet(out, feature_lookups=items, label=label, exclude_columns=exclude,
                           feature_columns=feature_columns, input_columns=input_columns, table_versions=versions)

    def _plan(self, df, items, *, override: bool):
        """Check every lookup against df and the tables; no Spark job runs here."""
        columns = {f.name: f.dataType for f in df.schema.fields}
        for item in items:
            if not isinstance(item, (FeatureLookup, FeatureFunction)):
                raise ValueError(f"features must be FeatureLookup or FeatureFunction objects, got {item!r}")
            if isinstance(item, FeatureLookup):
                needed = item.lookup_key + ([item.timestamp_lookup_key] if item.timestamp_lookup_key else [])
                absent = [k for k in needed if k not in columns]
                if absent:
                    raise ValueError(f"lookup key(s) {absent} of the lookup on {item.table_name} are not columns of "
                                     f"df; df has: {', '.join(columns)}")
        plans, produced = [], set(columns)
        for item in items:
            if isinstance(item, FeatureFunction):
                unbound = [c for c in item.input_bindings.values() if c not in produced]
                if unbound:
                    raise ValueError(f"{item!r} binds column(s) {unbound} that neither df nor an earlier lookup provides")
                if item.output_name in produced and not override:
                    raise ValueError(f"{item!r} would overwrite column {item.output_name!r}")
                plans.append(("function", item, None, None))
                produced.add(item.output_name)
                continue
            table = self.get_table(name=item.table_name)
            tschema = {f.name: f.dataType for f in self.spark.table(table.local_name).schema.fields}
            key_cols = [k for k in table.primary_keys if k != table.timeseries_column]
            if len(item.lookup_key) != len(key_cols):
                raise ValueError(f"lookup_key {item.lookup_key} has {len(item.lookup_key)} column(s) but the primary "
                                 f"key of {item.table_name} (without its timeseries column) is {key_cols}")
            for lk, pk in zip(item.lookup_key, key_cols):
                if columns[lk] != tschema[pk]:
                    raise ValueError(f"lookup key {lk!r} is {columns[lk].simpleString()} but primary key {pk!r} of "
                                     f"{item.table_name} is {tschema[pk].simpleString()}; the types must match, "
                                     "in the primary key's order")
            if item.timestamp_lookup_key:
                if not table.timeseries_column:
                    raise ValueError(f"{item.table_name} has no timeseries column, so a timestamp_lookup_key "
                                     f"({item.timestamp_lookup_key!r}) cannot be used with it")
                if not isinstance(columns[item.timestamp_lookup_key], pit.TIME_TYPES):
                    raise ValueError(f"timestamp_lookup_key {item.timestamp_lookup_key!r} must be a DATE or "
                                     f"TIMESTAMP column, not {columns[item.timestamp_lookup_key].simpleString()}")
            names = item.feature_names if item.feature_names is not None else [
                c for c in tschema if c not in table.primary_keys]
            unknown = [f for f in names if f not in tschema]
            if unknown:
                raise ValueError(f"feature(s) {unknown} are not in {item.table_name}; it has: "
                                 f"{', '.join(c for c in tschema if c not in table.primary_keys)}")
            keys_asked = [f for f in names if f in table.primary_keys]
            if keys_asked:
                raise ValueError(f"{keys_asked} are primary keys of {item.table_name}, not features")
            for feature, value in item.default_values.items():
                if feature not in names:
                    raise ValueError(f"default_values names {feature!r}, which this lookup does not fetch")
                if tschema[feature].simpleString() not in DEFAULTABLE_TYPES:
                    raise ValueError(f"default_values cannot fill {feature!r} of type "
                                     f"{tschema[feature].simpleString()}")
            features = {}
            for f in names:
                out = item.output_name(f)
                if out in produced:
                    if override and out in columns:
                        continue                      # score_batch: df's own column wins
                    raise ValueError(f"feature {f!r} of {item.table_name} would overwrite column {out!r}; "
                                     "rename it with rename_outputs")
                features[out] = f
                produced.add(out)
            plans.append(("lookup", item, table, features))
        return plans

    def _apply_features(self, df, items, *, override: bool):
        from pyspark.sql import functions as F

        plans = self._plan(df, items, override=override)
        out, feature_columns, versions = df, [], {}
        for kind, item, table, features in plans:
            if kind == "function":
                local_fn = self.local_name(item.udf_name)
                args = ", ".join(f"{param} => `{col}`" for param, col in item.input_bindings.items())
                out = out.withColumn(item.output_name, F.expr(f"{local_fn}({args})"))
                feature_columns.append(item.output_name)
                continue
            if not features:
                continue
            right = self.spark.table(table.local_name)
            key_cols = [k for k in table.primary_keys if k != table.timeseries_column]
            if table.timeseries_column:
                out = pit.as_of_join(out, right, left_keys=item.lookup_key, right_keys=key_cols,
                                     left_time=item.timestamp_lookup_key, right_time=table.timeseries_column,
                                     features=features, lookback=item.lookback_window)
            else:
                out = pit.exact_join(out, right, left_keys=item.lookup_key, right_keys=key_cols, features=features)
            defaults = {item.output_name(f): v for f, v in item.default_values.items()
                        if item.output_name(f) in features}
            for column, value in defaults.items():
                out = out.withColumn(column, F.coalesce(F.col(f"`{column}`"), F.lit(value).cast(right.schema[features[column]].dataType)))
            feature_columns.extend(features)
            versions[item.table_name] = self._version(table.local_name)
        return out, feature_columns, versions

    def _version(self, local: str) -> int:
        return int(self.spark.sql(f"DESCRIBE HISTORY {local} LIMIT 1").first()["version"])

    # -- models ------------------------------------------------------------------------------------
    def log_model(self, *, model, artifact_path: str, flavor, training_set: TrainingSet | None = None,
                  registered_model_name: str | None = None, await_registration_for: int = 300,
                  infer_input_example: bool = False, **kwargs):
        """Log `model` with its feature lookups, so that `score_batch` can redo them."""
        from lakeprep.features import model as fmodel
        return fmodel.log_model(self, model=model, artifact_path=artifact_path, flavor=flavor,
                                training_set=training_set, registered_model_name=registered_model_name,
                                await_registration_for=await_registration_for,
                                infer_input_example=infer_input_example, **kwargs)

    def score_batch(self, *, model_uri: str, df, result_type: str = "double", env_manager: str = "local",
                    params: dict | None = None, use_spark_native_join: bool = False, **kwargs):
        """Look up the model's features for `df` (its own columns win), then add `prediction`."""
        from lakeprep.features import model as fmodel
        if df.isStreaming:
            raise ValueError("score_batch does not support streaming DataFrames")
        return fmodel.score_batch(self, model_uri=model_uri, df=df, result_type=result_type,
                                  env_manager=env_manager, params=params)


# -- helpers ---------------------------------------------------------------------------------------

def _tag_list(props: dict, tag: str) -> list[str]:
    tags = json.loads(props.get(PROP + "tags", "{}"))
    return [x.strip() for x in tags.get(tag, "").split(",") if x.strip()]


def _sql_str(value: str) -> str:
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


def _schema_diff(ours: dict, theirs: dict) -> str:
    parts = []
    for c in ours.keys() - theirs.keys():
        parts.append(f"{c} missing from df")
    for c in theirs.keys() - ours.keys():
        parts.append(f"{c} not in schema")
    for c in ours.keys() & theirs.keys():
        if ours[c] != theirs[c]:
            parts.append(f"{c}: {theirs[c].simpleString()} in df, {ours[c].simpleString()} in schema")
    return "; ".join(sorted(parts))


_RELATION = re.compile(r"(?:SubqueryAlias|Relation) (spark_catalog\.)?([A-Za-z0-9_]+\.[A-Za-z0-9_]+)")


def _sources(df) -> list[str]:
    """Tables that `df` reads, from its analyzed plan (best effort: lineage for get_table)."""
    try:
        plan = df._jdf.queryExecution().analyzed().toString()
    except Exception:
        return []
    return sorted({m.group(2) for m in _RELATION.finditer(plan) if not m.group(2).startswith("__")})
