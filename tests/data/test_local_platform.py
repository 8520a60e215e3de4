"""The local Spark session: Delta, UTC, small shuffles, no UI, JARs from the cache, persistence."""
import os
import subprocess
import sys
import textwrap

from lakeprep import jars


def test_session_is_configured_for_delta_and_small_data(platform):
    conf = platform.spark.conf
    assert conf.get("spark.sql.extensions") == "io.delta.sql.DeltaSparkSessionExtension"
    assert conf.get("spark.sql.catalog.spark_catalog") == "org.apache.spark.sql.delta.catalog.DeltaCatalog"
    assert conf.get("spark.sql.session.timeZone") == "UTC"
    assert conf.get("spark.sql.shuffle.partitions") == "4"
    assert conf.get("spark.ui.enabled") == "false"
    spark_conf = platform.spark.sparkContext.getConf()
    assert spark_conf.get("spark.jars.packages", None) is None   # nothing to download
    listed = spark_conf.get("spark.jars").split(",")
    assert sorted(os.path.basename(j) for j in listed) == sorted(j.name for j in jars.cached_jars())
    warehouse = conf.get("spark.sql.warehouse.dir")
    assert str(platform.home) in warehouse


def test_delta_write_history_and_time_travel(platform):
    spark, name = platform.spark, platform.table("platform_smoke")
    spark.sql(f"CREATE OR REPLACE TABLE {name} (id INT) USING DELTA")
    spark.sql(f"INSERT INTO {name} VALUES (1), (2)")
    spark.sql(f"INSERT INTO {name} VALUES (3)")
    history = spark.sql(f"DESCRIBE HISTORY {name}").orderBy("version").collect()
    assert [r.operation for r in history][-2:] == ["WRITE", "WRITE"]
    assert spark.read.option("versionAsOf", history[-2].version).table(name).count() == 2
    assert spark.table(name).count() == 3
    detail = spark.sql(f"DESCRIBE DETAIL {name}").first()
    assert detail.format == "delta"


def test_tables_persist_across_sessions(tmp_path):
    """Lab 2 reads lab 1's tables by name from another kernel: the metastore must persist."""
    env = dict(os.environ, LAKEPREP_HOME=str(tmp_path / "ws"))
    write = textwrap.dedent("""
        from lakeprep.platform import get_platform
        p = get_platform("local")
        p.spark.range(5).write.mode("overwrite").saveAsTable(p.table("persisted"))
    """)
    read = textwrap.dedent("""
        from lakeprep.platform import get_platform
        p = get_platform("local")
        print("rows", p.spark.table(p.table("persisted")).count())
    """)
    for code in (write, read):
        result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                                timeout=300)
        assert result.returncode == 0, result.stderr[-2000:]
    assert "rows 5" in result.stdout
    assert (tmp_path / "ws" / "spark-warehouse").exists()
    assert (tmp_path / "ws" / "metastore" / "metastore_db").exists()


def test_missing_table_says_which_lab_to_run(platform):
    import pytest
    from lakeprep.errors import MissingArtifactError
    with pytest.raises(MissingArtifactError, match=r"run lab 1 first: the table `lakeprep_course.never_made`"):
        platform.require_tables(1, "never_made")
