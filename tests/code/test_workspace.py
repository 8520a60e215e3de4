"""`lakeprep reset` clears the configured workspace and nothing else."""
import os

from tests.conftest import REPO, run_cli


def test_reset_clears_the_configured_workspace(tmp_path):
    ws = tmp_path / "ws"
    (ws / "spark-warehouse").mkdir(parents=True)
    (ws / "spark-warehouse" / "table.parquet").write_text("x")
    result = run_cli("reset", env=dict(os.environ, LAKEPREP_HOME=str(ws)))
    assert result.returncode == 0, result.stderr
    assert not ws.exists()


def test_reset_refuses_a_path_outside_the_workspace(tmp_path):
    ws, other = tmp_path / "ws", tmp_path / "precious"
    other.mkdir()
    (other / "keep.txt").write_text("mine")
    result = run_cli("reset", str(other), env=dict(os.environ, LAKEPREP_HOME=str(ws)))
    assert result.returncode == 2
    assert "not the configured workspace" in result.stderr
    assert (other / "keep.txt").read_text() == "mine"


def test_reset_refuses_the_repository_and_home():
    for dangerous in (REPO, REPO.parent, os.path.expanduser("~")):
        result = run_cli("reset", env=dict(os.environ, LAKEPREP_HOME=str(dangerous)))
        assert result.returncode == 2, dangerous
        assert "refusing to delete" in result.stderr
    assert (REPO / "lakeprep").exists()


def test_workspace_is_gitignored():
    ignored = (REPO / ".gitignore").read_text().split()
    assert "workspace/" in ignored and ".cache/" in ignored and ".venv/" in ignored
