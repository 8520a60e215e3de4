"""A Delta table's latest commit, and user metadata on the commits a block of code makes.

Pipelines keep their state where the data is: each write carries a small JSON document in the
commit's user metadata (DESCRIBE HISTORY's `userMetadata` column), read back on the next run.
"""
from __future__ import annotations

import json

USER_METADATA = "spark.databricks.delta.commitInfo.userMetadata"


def last_commit(p, name: str) -> dict:
    """The newest commit of table `name` (bare name): version, timestamp, operation, userMetadata."""
    row = p.spark.sql(f"DESCRIBE HISTORY {p.table(name)} LIMIT 1") \
        .select("version", "timestamp", "operation", "userMetadata").first()
    return row.asDict()


def last_commit_info(p, name: str) -> dict:
    """The user metadata of a table's latest commit, as a dict ({} when there is none)."""
    text = last_commit(p, name)["userMetadata"]
    try:
        return json.loads(text) if text else {}
    except ValueError:
        return {}


class commit_info:
    """`with commit_info(spark, {...}):` stores a JSON document as the user metadata of every Delta
    commit made inside the block; nothing is set when `info` is empty."""

    def __init__(self, spark, info: dict | None):
        self.spark, self.info = spark, info

    def __enter__(self):
        if self.info:
            self.spark.conf.set(USER_METADATA, json.dumps(self.info, sort_keys=True))
        return self

    def __exit__(self, *exc):
        if self.info:
            self.spark.conf.unset(USER_METADATA)
        return False
