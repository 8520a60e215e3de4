"""Bad input at the command line gets a clear error that lists the valid values."""
import os

import pytest

from tests.conftest import run_cli


@pytest.mark.parametrize("args, expected", [
    (["labs", "run", "--target", "moon"], "unknown target 'moon'; valid values: local, databricks"),
    (["labs", "run", "--scale", "huge"], "unknown scale 'huge'; valid values: small, medium, large"),
    (["labs", "run", "--source", "drafts"], "unknown source 'drafts'; valid values: solutions, labs"),
    (["labs", "run", "--chapters", "9"], "unknown chapter 9; valid values: 1, 2, 3, 4, 5, 6"),
    (["labs", "run", "--chapters", "one"], "cannot read chapters 'one'"),
])
def test_labs_run_rejects_unknown_values(args, expected):
    result = run_cli(*args)
    assert result.returncode == 2
    assert expected in result.stderr


def test_runner_refuses_to_start_without_java(tmp_path):
    env = dict(os.environ, PATH=str(tmp_path), LAKEPREP_HOME=str(tmp_path / "ws"))
    env.pop("JAVA_HOME", None)
    result = run_cli("labs", "run", "--chapters", "1", env=env)
    assert result.returncode == 2
    assert "no `java` on PATH" in result.stderr
    assert "JDK 17 or 21" in result.stderr        # the same hint as the doctor's
    assert not (tmp_path / "ws").exists()          # refused before doing anything


def test_help_lists_every_verb():
    result = run_cli("--help")
    assert result.returncode == 0
    for verb in ("doctor", "reset", "jars", "labs"):
        assert verb in result.stdout
