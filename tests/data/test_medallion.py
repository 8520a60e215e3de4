"""Lab 1's pipeline end to end on the tiny scale: traps handled, labels exact, reruns change nothing."""
from __future__ import annotations

import pytest

from lakeprep import medallion

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def built(platform):
    p = platform
    p.seed, p.scale, p.lab = 11, "tiny", 1
    for name in medallion.TABLES:
        p.spark.sql(f"DROP TABLE IF EXISTS {p.table(name)}")
    manifest = medallion.generate_raw(p, force=True)
    first = medallion.run_pipeline(p)
    return p, manifest, first


def test_bronze_holds_every_line_once(built):
    p, manifest, first = built
    assert p.spark.table(p.table("bronze_events")).count() == manifest["event_lines"]
    assert len(first["bronze"]["new_batches"]) == manifest["event_batches"]


def test_silver_dedupes_converts_offsets_and_quarantines(built):
    p, _, _ = built
    report = medallion.silver_report(p)
    assert report["silver_rows"] == report["silver_ids"] < report["bronze_rows"]
    assert report["utc"]["offset_rows"] > 0 and report["utc"]["correct"] == report["utc"]["offset_rows"]
    assert {"missing_customer_id", "unknown_event_type", "amount_in_cents"} <= set(report["quarantine"])
    assert report["silver_rows"] + sum(report["quarantine"].values()) == report["bronze_ids"]


def test_labels_match_the_generator(built):
    p, _, _ = built
    check = medallion.labels_match_truth(p)
    assert check["extra"] == 0 and check["missing"] == 0 and check["truth_rows"] > 0


def test_a_second_pass_changes_no_table(built):
    p, _, _ = built
    before = medallion.fingerprints(p)
    versions = medallion.versions(p)
    second = medallion.run_pipeline(p)
    assert second["bronze"]["new_batches"] == [] and second["silver"]["processed"] is False
    assert all(d["changed_rows"] == 0 for d in second["silver"]["dimensions"])
    assert medallion.fingerprints(p) == before
    assert medallion.versions(p) == versions          # nothing committed at all


def test_a_late_batch_is_picked_up_incrementally(built):
    """A new raw batch arriving later is ingested and merged; re-sent ids do not duplicate."""
    import json
    import os
    p, _, _ = built
    folder = os.path.join(p.path("raw", "events"), "batch=2099-01-05")
    os.makedirs(folder, exist_ok=True)
    old = p.spark.table(p.table("silver_events")).select("event_id", "customer_id").first()
    lines = [{"event_id": old.event_id, "customer_id": old.customer_id, "event_type": "session",
              "event_time": "2025-10-30T10:00:00Z", "ingest_time": "2099-01-05T00:00:00Z"},
             {"event_id": "ev-new-1", "customer_id": old.customer_id, "event_type": "session",
              "event_time": "2025-10-30T11:00:00+01:00", "ingest_time": "2099-01-05T00:00:00Z"}]
    with open(os.path.join(folder, "events-late.jsonl"), "w") as fh:
        fh.write("\n".join(json.dumps(x) for x in lines) + "\n")
    rows = p.spark.table(p.table("silver_events")).count()
    result = medallion.run_pipeline(p)
    assert result["bronze"]["new_batches"] == ["2099-01-05"]
    assert p.spark.table(p.table("silver_events")).count() == rows + 1
    new = p.spark.table(p.table("silver_events")).where("event_id = 'ev-new-1'").first()
    assert new.event_time.timestamp() % 86400 == 10 * 3600          # 11:00+01:00 is 10:00 UTC


def test_a_failed_first_write_is_redone_not_skipped(platform):
    """The inputs mark only a commit that holds rows: after a failed first append the step runs
    again with the same inputs instead of leaving the table empty for good."""
    spark, name = platform.spark, "mc_failed_first"
    spark.sql(f"DROP TABLE IF EXISTS {platform.table(name)}")
    create = "CREATE TABLE {table} (k STRING NOT NULL, v INT) USING DELTA"
    broken = spark.createDataFrame([(None, 1)], "k STRING, v INT")
    with pytest.raises(Exception, match="NOT_NULL|null"):
        medallion.merge_changes(platform, name, broken, ["k"], create_sql=create, inputs="raw@1")
    assert platform.table_exists(name) and spark.table(platform.table(name)).count() == 0
    good = spark.createDataFrame([("a", 1), ("b", 2)], "k STRING, v INT")
    result = medallion.merge_changes(platform, name, good, ["k"], inputs="raw@1")
    assert result.get("skipped") is None and spark.table(platform.table(name)).count() == 2
    again = medallion.merge_changes(platform, name, good, ["k"], inputs="raw@1")
    assert again["skipped"] == "same inputs"
