"""The e2e fixtures: one lab run per test session, shared by the lab and the book tests."""
import json
import os
import shutil
import subprocess
import sys

import pytest

from tests.conftest import BUILD, LABS_HOME, REPO

OUT = BUILD / "labs"
# A token-shaped value planted in the labs' environment, built at run time so that no file holds it:
# the token-hygiene test then proves that no executed notebook or workspace file ever shows it.
PLANTED_TOKEN = "dapi" + "5eed" * 8


@pytest.fixture(scope="session")
def lab_run(request):
    shutil.rmtree(LABS_HOME, ignore_errors=True)
    shutil.rmtree(OUT, ignore_errors=True)          # no executed notebook of an earlier run survives
    env = dict(os.environ, LAKEPREP_HOME=str(LABS_HOME), DATABRICKS_TOKEN=PLANTED_TOKEN)
    capture = request.config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled():  # show lab progress live in the CI log
        print()
        result = subprocess.run([sys.executable, "-m", "lakeprep", "labs", "run", "--out", str(OUT)],
                                env=env, cwd=REPO, timeout=3600)
    summary = json.loads((OUT / "run-summary.json").read_text())
    return result.returncode, summary


