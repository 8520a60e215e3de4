"""A Databricks token in the environment never reaches what the labs leave behind: the executed
notebooks (and so the book built from them), the evidence files, the endpoint logs and every other
text file in the lab workspace. The e2e lab run has a token-shaped DATABRICKS_TOKEN planted."""
import re

import pytest

from tests.conftest import BUILD, LABS_HOME
from tests.e2e.conftest import PLANTED_TOKEN

TOKEN_LIKE = re.compile(r"dapi[0-9a-f]{32}")


def text_files(root, limit=5_000_000):
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.stat().st_size < limit and path.suffix not in {".parquet", ".crc", ".pkl",
                                                                                     ".ubj", ".json.gz", ".bin"}:
            yield path


@pytest.mark.e2e
def test_databricks_token_never_in_executed_notebooks_or_workspace_files(lab_run):
    notebooks = sorted((BUILD / "labs").glob("*.ipynb"))
    assert notebooks, "the lab run left no executed notebooks to scan"
    scanned, found = 0, []
    for path in [*notebooks, *text_files(LABS_HOME)]:
        text = path.read_bytes().decode("utf-8", errors="ignore")
        scanned += 1
        if PLANTED_TOKEN in text or TOKEN_LIKE.search(text):
            found.append(str(path))
    assert scanned > len(notebooks), "the workspace held no files to scan"
    assert not found, f"a token-shaped string shows in: {found}"


def test_the_planted_token_is_one_the_scan_finds():
    assert TOKEN_LIKE.fullmatch(PLANTED_TOKEN)
