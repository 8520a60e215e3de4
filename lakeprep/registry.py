"""Registry helpers: three-level names, registering a version with its description, tags and
lineage, aliases, and a readable view of a registered model.

Aliases (`challenger`, `champion`) are the way to say which version plays which role. Registry
stages (Staging/Production) are the retired mechanism: Unity Catalog does not support them.
"""
from __future__ import annotations

import re

from lakeprep.errors import LakeprepError

_PART = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
ALIASES = ("challenger", "champion")


def resolve_name(model: str, *, target: str = "local", catalog: str = "", schema: str = "") -> str:
    """A full `catalog.schema.name` as given, or a bare name mapped through the platform."""
    parts = model.split(".")
    if len(parts) == 3 and all(_PART.match(x) for x in parts):
        return model
    if len(parts) == 1 and _PART.match(model):
        from lakeprep.platform import get_platform

        return get_platform(target, catalog=catalog, schema=schema).model_name(model)
    raise LakeprepError(f"model {model!r}: give a bare name (churn_model) or a full three-level "
                        "name (catalog.schema.churn_model)")


def _client(client=None):
    from mlflow import MlflowClient

    return client or MlflowClient()


def ensure_registered_model(name: str, *, description: str = "", tags: dict | None = None,
                            client=None):
    from mlflow.exceptions import MlflowException

    client = _client(client)
    try:
        model = client.get_registered_model(name)
    except MlflowException:
        return client.create_registered_model(name, tags=tags, description=description or None)
    if description and model.description != description:
        client.update_registered_model(name, description=description)
    for key, value in (tags or {}).items():
        client.set_registered_model_tag(name, key, value)
    return client.get_registered_model(name)


def register_version(model_uri: str, name: str, *, description: str, tags: dict,
                     model_description: str = "", client=None):
    """Register `model_uri` as a new version of `name` with a description and tags.

    Lineage: MLflow links the version to the run that logged the model (`run_id`); the tags add
    what the registry cannot see (data versions, feature tables, code version, the run that chose
    the parameters)."""
    import mlflow

    client = _client(client)
    ensure_registered_model(name, description=model_description, client=client)
    version = mlflow.register_model(model_uri, name, tags={k: str(v) for k, v in tags.items()})
    client.update_model_version(name, str(version.version), description=description)
    return client.get_model_version(name, str(version.version))


def alias_version(name: str, alias: str, client=None) -> str | None:
    from mlflow.exceptions import MlflowException

    try:
        return str(_client(client).get_model_version_by_alias(name, alias).version)
    except MlflowException:
        return None


def set_alias(name: str, alias: str, version, client=None) -> None:
    _client(client).set_registered_model_alias(name, alias, str(version))


def versions_table(name: str, client=None, tag_keys=("gate_status", "gate_failed", "data_id",
                                                       "code_version", "promoted_by",
                                                       "previous_champion")):
    """One row per version: aliases, run, gate status and the main tags, newest first."""
    import pandas as pd

    client = _client(client)
    model = client.get_registered_model(name)
    by_version: dict[str, list[str]] = {}
    for alias, version in (model.aliases or {}).items():
        by_version.setdefault(str(version), []).append(alias)
    rows = []
    for mv in client.search_model_versions(f"name = '{name}'"):
        row = {"version": int(mv.version), "aliases": ",".join(sorted(by_version.get(mv.version, []))),
               "run_id": (mv.run_id or "")[:8], "created": pd.to_datetime(mv.creation_timestamp,
                                                                          unit="ms")}
        row.update({key: mv.tags.get(key, "") for key in tag_keys})
        rows.append(row)
    return pd.DataFrame(rows).sort_values("version", ascending=False).reset_index(drop=True)
