"""A Databricks token in the environment never reaches what the labs leave behind: the executed
notebooks (and so the book built from them), the evidence files, the endpoint logs and every other
text file in the lab workspace. The e2e lab run has a token-shaped DATABRICKS_TOKEN planted."""
import re

import pytest

from tests.conftest import BUILD, LABS_HOME
from tests.e2e.conftest import PLANTED_TOKEN

TOKEN_LIKE = re.compile(r"dapi[0-9a-f]{32}")


def scanned_files(root):
    """Every file but the Delta data files and checksums (table rows, not logs or outputs)."""
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.suffix not in {".parquet", ".crc"}:
            yield path


def holds_token(path) -> bool:
    with path.open("rb") as handle:      # in chunks: an MLflow database or a log may be large
        tail = b""
        while chunk := handle.read(1 << 20):
            text = (tail + chunk).decode("utf-8", errors="ignore")
            if PLANTED_TOKEN in text or TOKEN_LIKE.search(text):
                return True
            tail = chunk[-64:]
    return False


@pytest.mark.e2e
def test_databricks_token_never_in_executed_notebooks_or_workspace_files(lab_run):
    code, summary = lab_run
    assert code == 0 and summary["status"] == "ok", "the lab run failed: its outputs are not complete"
    notebooks = sorted((BUILD / "labs").glob("*.ipynb"))
    assert len(notebooks) == len(summary["notebooks"]), "the lab run left no executed notebooks to scan"
    scanned, found = 0, []
    for path in [*notebooks, *scanned_files(LABS_HOME)]:
        scanned += 1
        if holds_token(path):
            found.append(str(path))
    assert scanned > len(notebooks), "the workspace held no files to scan"
    assert not found, f"a token-shaped string shows in: {found}"


def test_the_planted_token_is_one_the_scan_finds():
    assert TOKEN_LIKE.fullmatch(PLANTED_TOKEN)
