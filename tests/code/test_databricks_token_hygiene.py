"""A Databricks token never ends up in the repository, an executed notebook, a Secret's repr or an
error message of the databricks adapter, even when the error it wraps contains one."""
from __future__ import annotations

import re
import subprocess
import sys

import pytest

from lakeprep.config import load_settings
from lakeprep.errors import LakeprepError
from lakeprep.platform.base import Secret
from lakeprep.platform.databricks import DatabricksPlatform, scrub
from lakeprep.platform.serving_databricks import DatabricksServing, ServedVersion
from tests.conftest import REPO
from tests.fixtures.databricks.fakes import FakeSpark, FakeWorkspace

TOKEN_LIKE = re.compile(r"dapi[0-9a-f]{32}")
# Built at run time so that this file does not itself match the pattern it scans for.
TOKEN = "dapi" + "0123456789abcdef" * 2
SKIP_DIRS = {".git", ".venv", ".cache", "__pycache__", ".pytest_cache", ".hypothesis", "node_modules",
             "workspace", "mlruns", "build", "_build"}


def repository_files():
    """Tracked and untracked-but-not-ignored files (read-only git), else a walk of the tree."""
    try:
        listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
                                cwd=REPO, capture_output=True, check=True, timeout=60).stdout
        paths = [REPO / p for p in listed.decode().split("\0") if p]
    except (OSError, subprocess.SubprocessError):
        paths = [p for p in REPO.rglob("*")
                 if not SKIP_DIRS.intersection(p.relative_to(REPO).parts)]
    return [p for p in paths if p.is_file() and p.stat().st_size < 20_000_000]


def test_no_token_in_any_repository_file():
    found = []
    for path in repository_files():
        text = path.read_bytes().decode("utf-8", errors="ignore")
        if TOKEN_LIKE.search(text):
            found.append(str(path.relative_to(REPO)))
    assert not found, f"token-like strings (dapi...) in: {found}"


def test_the_scan_would_find_one():
    assert TOKEN_LIKE.search(f"Authorization: Bearer {TOKEN}")


def test_secret_never_shows_its_value():
    secret = Secret("databricks_token", TOKEN)
    for shown in (repr(secret), str(secret), f"{secret}", "%s" % secret, repr([secret]),
                  repr({"k": secret})):
        assert TOKEN not in shown and "REDACTED" in shown
    assert secret.get() == TOKEN


@pytest.fixture
def env(monkeypatch):
    monkeypatch.setenv("DATABRICKS_TOKEN", TOKEN)
    return {"DATABRICKS_HOST": "https://x.cloud.databricks.com", "DATABRICKS_TOKEN": TOKEN,
            "DATABRICKS_CONFIG_FILE": "/nonexistent/cfg"}


def platform(environ, **kw):
    return DatabricksPlatform(load_settings("databricks", environ=environ), catalog="main",
                              schema="s", environ=environ, **kw)


def assert_clean(message: str):
    assert TOKEN not in message and not TOKEN_LIKE.search(message), message


def test_sdk_connection_errors_are_scrubbed(env, monkeypatch):
    import databricks.sdk

    def fail(*args, **kwargs):
        raise ValueError(f"default auth: cannot configure: Config: host=https://x, token={TOKEN}")

    monkeypatch.setattr(databricks.sdk, "WorkspaceClient", fail)
    with pytest.raises(LakeprepError) as caught:
        platform(env).workspace
    assert_clean(str(caught.value))
    assert "could not connect" in str(caught.value)


def test_databricks_connect_errors_are_scrubbed(env, monkeypatch):
    import types

    module = types.ModuleType("databricks.connect")

    class Builder:
        def getOrCreate(self):
            raise RuntimeError(f"INVALID_STATE: token {TOKEN} rejected by cluster")

    module.DatabricksSession = types.SimpleNamespace(builder=Builder())
    monkeypatch.setitem(sys.modules, "databricks.connect", module)
    with pytest.raises(LakeprepError) as caught:
        platform(env).spark
    assert_clean(str(caught.value))


def test_missing_host_error_never_echoes_the_token(monkeypatch):
    environ = {"DATABRICKS_TOKEN": TOKEN, "DATABRICKS_CONFIG_FILE": "/nonexistent/cfg"}
    with pytest.raises(LakeprepError) as caught:
        platform(environ).workspace
    assert "DATABRICKS_HOST is not set" in str(caught.value)
    assert_clean(str(caught.value))


def test_secret_lookup_errors_are_scrubbed(env):
    class LeakyWorkspace(FakeWorkspace):
        def _handle(self, call):
            if call.path == "/api/2.0/secrets/get":
                raise PermissionError(f"403 for Bearer {TOKEN}")
            return super()._handle(call)

    with pytest.raises(LakeprepError) as caught:
        platform(env, workspace=LeakyWorkspace()).secret("api_key")
    assert_clean(str(caught.value))
    assert "PermissionError" in str(caught.value)


def test_schema_errors_are_scrubbed(env):
    spark = FakeSpark(fail=(r"^CREATE SCHEMA", r"^DESCRIBE"))
    spark.sql = (lambda original: (lambda statement: original(statement + f" -- {TOKEN}")))(spark.sql)
    with pytest.raises(LakeprepError) as caught:
        platform(env, spark=spark).spark
    assert_clean(str(caught.value))


def test_endpoint_error_replies_are_scrubbed(env):
    from databricks.sdk import errors

    class LeakyWorkspace(FakeWorkspace):
        def _invoke(self, name, call):
            raise errors.PermissionDenied(f"token {TOKEN} may not query {name}")

    ws = LeakyWorkspace()
    serving = DatabricksServing(ws, catalog="main", schema="s", mlflow_client=lambda: None,
                                sleep=lambda s: None)
    serving.deploy("ep", [ServedVersion("main.s.churn_model", "1")])
    reply = serving.query("ep", {"inputs": {"a": [1]}})
    assert reply.status == 403
    assert_clean(str(reply.body)) and assert_clean(reply.error)


def test_scrub_also_hides_non_pat_tokens_from_the_environment():
    environ = {"DATABRICKS_TOKEN": "oauth-abcdefgh12345678"}
    assert scrub("bad token oauth-abcdefgh12345678", environ) == "bad token [REDACTED]"
    assert scrub(f"x {TOKEN} y", {}) == "x [REDACTED] y"
