"""`lakeprep doctor`: one line per check, the fix for each failure, non-zero exit on failure."""
import os
import stat

from tests.conftest import run_cli


def fake_java(folder, version_line):
    """A `java` that reports the given version, to test detection without installing JDKs."""
    bin_dir = folder / "bin"
    bin_dir.mkdir(parents=True)
    java = bin_dir / "java"
    java.write_text(f"#!/bin/sh\necho '{version_line}' >&2\n")
    java.chmod(java.stat().st_mode | stat.S_IEXEC)
    return folder


def doctor(env_changes, tmp_path):
    env = dict(os.environ, LAKEPREP_HOME=str(tmp_path / "ws"), **env_changes)
    for key, value in list(env_changes.items()):
        if value is None:
            env.pop(key)
    return run_cli("doctor", env=env)


def test_healthy_machine_passes(tmp_path):
    result = doctor({}, tmp_path)
    assert result.returncode == 0, result.stdout
    assert "6 of 6 checks passed" in result.stdout
    for name in ("python", "java", "pyspark/delta", "delta jars", "workspace", "disk"):
        assert f"[ok  ] {name}:" in result.stdout


def test_missing_java_fails_with_the_fix(tmp_path):
    env = dict(os.environ, PATH=str(tmp_path / "empty"), LAKEPREP_HOME=str(tmp_path / "ws"))
    env.pop("JAVA_HOME", None)
    result = run_cli("doctor", env=env)
    assert result.returncode == 1
    assert "[FAIL] java: no `java` on PATH" in result.stdout
    assert "fix: install a JDK 17 or 21" in result.stdout


def test_old_java_is_named(tmp_path):
    home = fake_java(tmp_path / "jdk11", 'openjdk version "11.0.22" 2024-01-16')
    result = doctor({"JAVA_HOME": str(home)}, tmp_path)
    assert result.returncode == 1
    assert "is Java 11 (from JAVA_HOME=" in result.stdout
    assert "Spark 4 needs Java 17 or 21" in result.stdout


def test_java_8_version_scheme_is_read(tmp_path):
    home = fake_java(tmp_path / "jdk8", 'java version "1.8.0_392"')
    result = doctor({"JAVA_HOME": str(home)}, tmp_path)
    assert "is Java 8 (from JAVA_HOME=" in result.stdout


def test_supported_java_via_java_home_passes(tmp_path):
    home = fake_java(tmp_path / "jdk21", 'openjdk version "21.0.4" 2024-07-16')
    result = doctor({"JAVA_HOME": str(home)}, tmp_path)
    assert "[ok  ] java: Java 21" in result.stdout


def test_java_home_without_java_fails(tmp_path):
    (tmp_path / "nojdk").mkdir()
    result = doctor({"JAVA_HOME": str(tmp_path / "nojdk")}, tmp_path)
    assert "JAVA_HOME points at a folder without bin/java" in result.stdout
    assert result.returncode == 1


def test_empty_jar_cache_fails_with_the_fix(tmp_path):
    result = doctor({"LAKEPREP_JAR_CACHE": str(tmp_path / "nojars")}, tmp_path)
    assert result.returncode == 1
    assert "[FAIL] delta jars: not cached" in result.stdout
    assert "make jars" in result.stdout


def test_unwritable_workspace_fails(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    env = dict(os.environ, LAKEPREP_HOME=str(blocker / "ws"))
    result = run_cli("doctor", env=env)
    assert result.returncode == 1
    assert "[FAIL] workspace:" in result.stdout
    assert "LAKEPREP_HOME" in result.stdout
