"""Feature spec files: one YAML contract per feature table, in `features/specs/`.

A spec says what a table's rows mean (entity, grain, time semantics), how fresh and complete
they must be (freshness, null policy), who owns them, and every column with its type. The
pipelines build schemas from it, `lakeprep.validation` checks candidates against it, and the
feature table's description and tags come from it.

    spec = load_spec("features/specs/customer_daily_features.yml")
    spec.spark_schema(version=1)       # the columns published at spec version 1
    load_specs()                       # every spec in features/specs, by table name

A missing field, an unknown type or an inconsistent key raises FeatureSpecError naming the
file and the field.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from lakeprep.config import REPO_ROOT
from lakeprep.errors import LakeprepError

SPEC_DIR = REPO_ROOT / "features" / "specs"
REQUIRED = ("table", "version", "description", "entity", "primary_keys", "grain", "window", "freshness",
            "time_semantics", "null_policy", "owner", "features")
OPTIONAL = ("timeseries_column", "sources", "constraints", "tags", "drift_tolerance")
FEATURE_REQUIRED = ("name", "type", "description")
FEATURE_OPTIONAL = ("nullable", "max_null_rate", "range", "since", "default")
TYPES = {
    "string": "StringType", "int": "IntegerType", "bigint": "LongType", "double": "DoubleType",
    "float": "FloatType", "boolean": "BooleanType", "date": "DateType", "timestamp": "TimestampType",
}


class FeatureSpecError(LakeprepError):
    """A spec file that cannot be used, with the file and the field at fault."""


@dataclass(frozen=True)
class FeatureColumn:
    name: str
    type: str
    description: str
    nullable: bool = True
    max_null_rate: float | None = None
    range: tuple | None = None
    since: int = 1
    default: object = None

    def spark_type(self):
        from pyspark.sql import types as T
        return getattr(T, TYPES[self.type])()


@dataclass(frozen=True)
class FeatureSpec:
    path: Path
    table: str
    version: int
    description: str
    entity: str
    primary_keys: tuple[str, ...]
    grain: str
    window: str
    freshness: str
    time_semantics: str
    null_policy: str
    owner: str
    features: tuple[FeatureColumn, ...]
    timeseries_column: str | None = None
    sources: tuple[str, ...] = ()
    constraints: tuple[dict, ...] = ()
    tags: dict = field(default_factory=dict)
    drift_tolerance: float = 3.0

    def columns(self, version: int | None = None) -> list[FeatureColumn]:
        """Keys and features that exist at a spec version (default: the current one)."""
        v = self.version if version is None else version
        return [c for c in self.features if c.since <= v]

    def column_names(self, version: int | None = None) -> list[str]:
        return [c.name for c in self.columns(version)]

    def feature_names(self, version: int | None = None) -> list[str]:
        return [c.name for c in self.columns(version) if c.name not in self.primary_keys]

    def column(self, name: str) -> FeatureColumn:
        for c in self.features:
            if c.name == name:
                return c
        raise KeyError(f"{self.table} has no column {name!r}")

    def spark_schema(self, version: int | None = None):
        """The StructType of the table at a version, with column comments and NOT NULL keys."""
        from pyspark.sql import types as T
        return T.StructType([
            T.StructField(c.name, c.spark_type(), nullable=c.nullable and c.name not in self.primary_keys,
                          metadata={"comment": c.description})
            for c in self.columns(version)])

    def table_tags(self) -> dict[str, str]:
        tags = {"owner": self.owner, "entity": self.entity, "spec_version": str(self.version),
                "spec_file": self.path.name}
        if self.sources:
            tags["sources"] = ",".join(self.sources)
        tags.update({str(k): str(v) for k, v in self.tags.items()})
        return tags

    def table_description(self) -> str:
        return (f"{' '.join(self.description.split())} Grain: {self.grain}. Window: {self.window}. "
                f"Freshness: {self.freshness}. Time semantics: {self.time_semantics}. Nulls: {self.null_policy}. "
                f"Owner: {self.owner}.")


def _where(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def load_spec(path: str | Path) -> FeatureSpec:
    path = Path(path)
    where = _where(path)
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise FeatureSpecError(f"{where}: no such spec file") from None
    except yaml.YAMLError as exc:
        raise FeatureSpecError(f"{where}: not valid YAML ({exc})") from None
    if not isinstance(data, dict):
        raise FeatureSpecError(f"{where}: a spec is a mapping of fields, got {type(data).__name__}")
    for key in REQUIRED:
        if key not in data or data[key] in (None, "", []):
            raise FeatureSpecError(f"{where}: missing field '{key}' (every spec needs: {', '.join(REQUIRED)})")
    unknown = sorted(set(data) - set(REQUIRED) - set(OPTIONAL))
    if unknown:
        raise FeatureSpecError(f"{where}: unknown field '{unknown[0]}' (allowed: "
                               f"{', '.join(REQUIRED + OPTIONAL)})")
    for key in ("table", "description", "entity", "grain", "window", "freshness", "time_semantics",
                "null_policy", "owner"):
        if not isinstance(data[key], str):
            raise FeatureSpecError(f"{where}: field '{key}' must be text")
    if not isinstance(data["version"], int) or data["version"] < 1:
        raise FeatureSpecError(f"{where}: field 'version' must be a whole number from 1")
    if not isinstance(data["features"], list):
        raise FeatureSpecError(f"{where}: field 'features' must be a list of columns")
    columns, seen = [], set()
    for i, item in enumerate(data["features"]):
        at = f"{where}: features[{i}]"
        if not isinstance(item, dict):
            raise FeatureSpecError(f"{at} must be a mapping with {', '.join(FEATURE_REQUIRED)}")
        label = f"{at} ({item['name']})" if isinstance(item.get("name"), str) else at
        for key in FEATURE_REQUIRED:
            if key not in item or item[key] in (None, ""):
                raise FeatureSpecError(f"{label}: missing field '{key}'")
        extra = sorted(set(item) - set(FEATURE_REQUIRED) - set(FEATURE_OPTIONAL))
        if extra:
            raise FeatureSpecError(f"{label}: unknown field '{extra[0]}' (allowed: "
                                   f"{', '.join(FEATURE_REQUIRED + FEATURE_OPTIONAL)})")
        if item["type"] not in TYPES:
            raise FeatureSpecError(f"{label}.type: unknown type '{item['type']}' (valid types: {', '.join(TYPES)})")
        if item["name"] in seen:
            raise FeatureSpecError(f"{label}.name: '{item['name']}' appears twice")
        seen.add(item["name"])
        rng = item.get("range")
        if rng is not None and not (isinstance(rng, list) and len(rng) == 2
                                    and all(v is None or isinstance(v, (int, float)) for v in rng)):
            raise FeatureSpecError(f"{label}.range: write [min, max] with numbers or null, got {rng!r}")
        rate = item.get("max_null_rate")
        if rate is not None and not (isinstance(rate, (int, float)) and 0 <= rate <= 1):
            raise FeatureSpecError(f"{label}.max_null_rate: a fraction between 0 and 1, got {rate!r}")
        since = item.get("since", 1)
        if not isinstance(since, int) or not 1 <= since <= data["version"]:
            raise FeatureSpecError(f"{label}.since: a spec version from 1 to {data['version']}, got {since!r}")
        columns.append(FeatureColumn(
            name=item["name"], type=item["type"], description=" ".join(str(item["description"]).split()),
            nullable=bool(item.get("nullable", True)), max_null_rate=rate,
            range=tuple(rng) if rng is not None else None, since=since, default=item.get("default")))
    keys = data["primary_keys"]
    if isinstance(keys, str):
        keys = [keys]
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise FeatureSpecError(f"{where}: field 'primary_keys' must be a list of column names")
    for k in keys:
        if k not in seen:
            raise FeatureSpecError(f"{where}: primary_keys: '{k}' is not one of the features")
    ts = data.get("timeseries_column")
    if ts is not None:
        if ts not in keys:
            raise FeatureSpecError(f"{where}: timeseries_column: '{ts}' must be one of the primary_keys {keys}")
        if next(c for c in columns if c.name == ts).type not in ("date", "timestamp"):
            raise FeatureSpecError(f"{where}: timeseries_column: '{ts}' must have type date or timestamp")
    constraints = data.get("constraints") or []
    for i, c in enumerate(constraints):
        if not (isinstance(c, dict) and isinstance(c.get("name"), str) and isinstance(c.get("expr"), str)):
            raise FeatureSpecError(f"{where}: constraints[{i}]: write {{name: ..., expr: ...}}")
    return FeatureSpec(
        path=path, table=data["table"], version=data["version"], description=data["description"],
        entity=data["entity"], primary_keys=tuple(keys), grain=data["grain"], window=data["window"],
        freshness=data["freshness"], time_semantics=data["time_semantics"], null_policy=data["null_policy"],
        owner=data["owner"], features=tuple(columns), timeseries_column=ts, sources=tuple(data.get("sources") or ()),
        constraints=tuple(constraints), tags=dict(data.get("tags") or {}),
        drift_tolerance=float(data.get("drift_tolerance", 3.0)))


def load_specs(folder: str | Path = SPEC_DIR) -> dict[str, FeatureSpec]:
    """Every `*.yml` spec in a folder, by table name."""
    folder = Path(folder)
    specs = {}
    for path in sorted(folder.glob("*.yml")):
        spec = load_spec(path)
        if spec.table in specs:
            raise FeatureSpecError(f"{_where(path)}: table '{spec.table}' is already described by "
                                   f"{_where(specs[spec.table].path)}")
        specs[spec.table] = spec
    if not specs:
        raise FeatureSpecError(f"{_where(folder)}: no spec files (*.yml)")
    return specs
