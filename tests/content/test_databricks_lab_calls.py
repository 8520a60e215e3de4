"""Every call the six labs make through the platform layer exists on the Databricks target.

Lab cells hold no target branches, so a lab runs on a workspace only if each platform method,
endpoint method and Feature Engineering call it makes is there too. This reads the solution
notebooks' code (no workspace, no Spark) and checks it against the Databricks adapter and the
real client's published signatures (shared/reference/platform-facts.md, section 3).
"""
from __future__ import annotations

import ast
import json
import re

import pytest

from lakeprep.config import load_settings
from lakeprep.platform.databricks import DatabricksPlatform
from lakeprep.platform.serving_databricks import DatabricksEndpoint
from tests.conftest import REPO
from tests.fixtures.databricks.fakes import FakeWorkspace

LABS = sorted((REPO / "solutions").glob("ch0[1-6]-lab.ipynb"))
assert len(LABS) == 6, f"expected the six lab notebooks in solutions/, found {[p.name for p in LABS]}"

# databricks.feature_engineering.FeatureEngineeringClient: its methods and their keyword-only
# parameters, as the client publishes them (platform-facts.md §3)
REAL_CLIENT = {
    "create_table": {"name", "primary_keys", "df", "timeseries_column", "partition_columns", "schema",
                     "description", "tags"},
    "write_table": {"name", "df", "mode", "checkpoint_location", "trigger"},
    "read_table": {"name"},
    "get_table": {"name"},
    "drop_table": {"name"},
    "create_training_set": {"df", "feature_lookups", "feature_spec", "features", "label", "exclude_columns",
                            "use_spark_native_join"},
    "log_model": None,       # model, artifact_path, flavor, training_set, ... and **kwargs for the flavor
    "score_batch": {"model_uri", "df", "result_type", "env_manager", "params", "use_spark_native_join"},
    "create_feature_spec": {"name", "features", "exclude_columns"},
}
# attributes of the real FeatureTable entity a lab may read
REAL_FEATURE_TABLE = {"name", "table_id", "description", "primary_keys", "partition_columns", "features",
                      "timestamp_keys", "tags", "creation_timestamp", "path_data_sources", "table_data_sources",
                      "custom_data_sources", "notebook_producers", "job_producers", "online_stores"}


def code_of(path) -> ast.Module:
    cells = json.loads(path.read_text())["cells"]
    source = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    source = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!")))
    return ast.parse(source, filename=str(path))


def names_bound_to(tree, call_pattern: str) -> set[str]:
    """Variables assigned from (or opened `with`) a call whose source matches `call_pattern`."""
    bound = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and re.search(call_pattern, ast.unparse(node.value)):
            bound |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        if isinstance(node, ast.withitem) and isinstance(node.optional_vars, ast.Name) \
                and re.search(call_pattern, ast.unparse(node.context_expr)):
            bound.add(node.optional_vars.id)
    return bound


def attributes_of(tree, names: set[str]) -> set[str]:
    return {node.attr for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in names}


@pytest.fixture(scope="module")
def workspace_platform():
    """The adapter as a cluster notebook gets it (a fake workspace: no network, no Spark)."""
    environ = {"DATABRICKS_RUNTIME_VERSION": "17.3"}
    return DatabricksPlatform(load_settings("databricks", environ=environ), catalog="main",
                              schema="lakeprep_jane", environ=environ, workspace=FakeWorkspace())


@pytest.mark.parametrize("lab", LABS, ids=lambda p: p.stem)
def test_every_platform_attribute_a_lab_uses_exists_on_the_databricks_target(lab, workspace_platform):
    used = attributes_of(code_of(lab), {"p"})
    # class attributes first: properties such as p.spark would start a session if evaluated
    missing = sorted(a for a in used if not hasattr(DatabricksPlatform, a)
                     and a not in vars(workspace_platform))
    assert not missing, f"{lab.name} uses p.{', p.'.join(missing)}, which the Databricks platform lacks"
    # an inherited method counts only if the local target does not override it: otherwise the
    # workspace would silently run the shared default while the laptop runs something else
    from lakeprep.platform.local import LocalPlatform
    local_only = sorted(a for a in used if a in vars(LocalPlatform) and a not in vars(DatabricksPlatform))
    assert not local_only, f"{lab.name} uses p.{', p.'.join(local_only)}, overridden locally but not on Databricks"


@pytest.mark.parametrize("lab", LABS, ids=lambda p: p.stem)
def test_every_endpoint_call_a_lab_makes_exists_on_a_serving_endpoint(lab):
    tree = code_of(lab)
    endpoints = names_bound_to(tree, r"\bp\.endpoint\(")
    used = attributes_of(tree, endpoints)
    probe = DatabricksEndpoint(serving=None, model="main.s.m@champion")
    missing = sorted(a for a in used if not hasattr(DatabricksEndpoint, a) and not hasattr(probe, a))
    assert not missing, f"{lab.name}: endpoint.{', endpoint.'.join(missing)} has no Model Serving counterpart"


@pytest.mark.parametrize("lab", LABS, ids=lambda p: p.stem)
def test_feature_engineering_calls_match_the_real_client(lab):
    tree = code_of(lab)
    clients = names_bound_to(tree, r"feature_client\(")
    problems = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name) and node.func.value.id in clients):
            continue
        method = node.func.attr
        if method not in REAL_CLIENT:
            problems.append(f"fe.{method} is not a method of the real client")
            continue
        if node.args:
            problems.append(f"fe.{method}(...) passes positional arguments; the real client takes keywords only")
        allowed = REAL_CLIENT[method]
        unknown = [k.arg for k in node.keywords if k.arg and allowed is not None and k.arg not in allowed]
        if unknown:
            problems.append(f"fe.{method}(...) passes {unknown}, which the real client does not take")
    assert not problems, f"{lab.name}: " + "; ".join(problems)


@pytest.mark.parametrize("lab", LABS, ids=lambda p: p.stem)
def test_feature_tables_are_read_through_the_real_entitys_attributes(lab):
    tree = code_of(lab)
    tables = names_bound_to(tree, r"\bfe\.(get_table|create_table)\(")
    unknown = sorted(attributes_of(tree, tables) - REAL_FEATURE_TABLE)
    assert not unknown, f"{lab.name} reads FeatureTable.{unknown}, which the real FeatureTable lacks"


def test_the_scan_sees_what_the_labs_call():
    """Guards the guards: the labs do go through p, endpoints and the feature client."""
    trees = [code_of(lab) for lab in LABS]
    assert any("endpoint" in attributes_of(t, {"p"}) for t in trees)
    assert any(names_bound_to(t, r"feature_client\(") for t in trees)
    assert any(names_bound_to(t, r"\bp\.endpoint\(") for t in trees)
    assert any(names_bound_to(t, r"\bfe\.(get_table|create_table)\(") for t in trees)
