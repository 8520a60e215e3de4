"""Lab 2 run before lab 1 stops in its first cell, naming the lab to run and the missing table."""
import pytest

from lakeprep.errors import MissingArtifactError
from lakeprep.notebook import PREREQUISITES, start_lab

pytestmark = pytest.mark.spark


def test_lab2_needs_the_tables_lab1_makes():
    assert PREREQUISITES[2]["tables"][1][0] == "silver_events"
    assert {"churn_labels", "silver_plan_history", "silver_customers"} <= set(PREREQUISITES[2]["tables"][1])


def test_lab2_first_cell_says_run_lab1_first(platform):
    with pytest.raises(MissingArtifactError, match=r"run lab 1 first: the table `lakeprep_nolab1\.silver_events`"):
        start_lab(2, target="local", scale="small", seed=1, schema="nolab1")
