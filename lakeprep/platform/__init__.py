"""Where a lab runs. `get_platform(target)` hides every difference between a laptop and a
Databricks workspace, so that lab cells never branch on the target.

    p = get_platform("local", catalog="", schema="")
    spark = p.spark                      # a Delta-enabled session
    p.table("silver_events")             # the name to use in SQL and spark.table()
    p.model_name("churn_model")          # a three-level registry name
    p.setup_mlflow(); p.experiment("churn")
"""
from __future__ import annotations

from lakeprep.config import TARGETS, check_choice, load_settings
from lakeprep.platform.base import Platform


def get_platform(target: str = "local", *, catalog: str = "", schema: str = "",
                 environ=None) -> Platform:
    check_choice("target", target, TARGETS)
    settings = load_settings(target, environ=environ)
    if target == "local":
        from lakeprep.platform.local import LocalPlatform
        return LocalPlatform(settings, catalog=catalog, schema=schema)
    from lakeprep.platform.databricks import DatabricksPlatform
    return DatabricksPlatform(settings, catalog=catalog, schema=schema)


__all__ = ["Platform", "get_platform"]
