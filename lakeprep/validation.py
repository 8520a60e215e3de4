"""Validation built into the feature pipelines: nothing reaches a feature table unchecked.

    report = validate(candidate, spec, reference=profile)   # one Spark job for every check
    report.raise_for_failures()                             # FeatureValidationError naming feature and check
    persist(p, [report, ...])                               # one MERGE into feature_validation_results

Checks, all driven by the spec file:
- schema: every column of the spec version with its type, nothing else;
- primary_key: no key twice, no null key;
- null_rate: at most the feature's `max_null_rate` (NOT NULL columns: none);
- range: min and max inside the feature's `range`;
- constraint: the spec's row rules (the same expressions become Delta CHECK constraints);
- distribution: mean and standard deviation within `drift_tolerance` times a reference profile
  (the profile of the last accepted candidate), for numeric features.
"""
from __future__ import annotations

import json
import math
import re
import time
from dataclasses import asdict, dataclass, field

from lakeprep.errors import LakeprepError

RESULTS_TABLE = "feature_validation_results"
NUMERIC = ("int", "bigint", "double", "float")


class FeatureValidationError(LakeprepError):
    """A candidate failed validation; nothing was written."""

    def __init__(self, report: "ValidationReport"):
        self.report = report
        lines = [f"{report.table}: {len(report.failures)} check(s) failed, nothing was written"]
        lines += [f"  - {r.message}" for r in report.failures]
        super().__init__("\n".join(lines))


@dataclass
class CheckResult:
    check: str
    feature: str
    passed: bool
    observed: str
    expected: str
    message: str


@dataclass
class ValidationReport:
    table: str
    run: str
    spec_version: int
    rows: int
    results: list[CheckResult]
    profile: dict = field(default_factory=dict)
    checked_at: str = ""

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)

    @property
    def failures(self) -> list[CheckResult]:
        return [r for r in self.results if not r.passed]

    def raise_for_failures(self) -> "ValidationReport":
        if not self.passed:
            raise FeatureValidationError(self)
        return self

    def to_pandas(self):
        import pandas as pd
        return pd.DataFrame([asdict(r) for r in self.results])

    def summary(self) -> str:
        state = "passed" if self.passed else f"FAILED ({len(self.failures)})"
        return f"{self.table} [{self.run}]: {len(self.results)} checks on {self.rows:,} rows, {state}"


def _fmt(x) -> str:
    if x is None:
        return "null"
    if isinstance(x, float):
        return f"{x:.4g}"
    return str(x)


def validate(df, spec, *, run: str = "adhoc", version: int | None = None, columns: list[str] | None = None,
             reference: dict | None = None) -> ValidationReport:
    """Check a candidate DataFrame against its spec (and a reference profile), in one Spark job.

    `columns` limits the data checks to some features (a backfill of one column); the keys are
    always checked.
    """
    from pyspark.sql import functions as F

    table = spec.table
    expected = {c.name: c for c in spec.columns(version)}
    wanted = list(expected) if columns is None else list(dict.fromkeys(list(spec.primary_keys) + list(columns)))
    actual = {f.name: f.dataType.simpleString() for f in df.schema.fields}
    results: list[CheckResult] = []

    # schema, from the DataFrame's schema alone
    missing = [c for c in wanted if c not in actual]
    extra = [c for c in actual if c not in wanted]
    wrong = [c for c in wanted if c in actual and actual[c] != expected[c].type]
    for c in missing:
        results.append(CheckResult("schema", c, False, "absent", expected[c].type,
                                   f"{table}.{c} — schema: column is missing (the spec expects {expected[c].type})"))
    for c in extra:
        results.append(CheckResult("schema", c, False, actual[c], "absent",
                                   f"{table}.{c} — schema: column is not in spec version {version or spec.version}"))
    for c in wrong:
        results.append(CheckResult("schema", c, False, actual[c], expected[c].type,
                                   f"{table}.{c} — schema: type is {actual[c]}, the spec says {expected[c].type}"))
    if not (missing or extra or wrong):
        results.append(CheckResult("schema", "*", True, f"{len(wanted)} columns", f"{len(wanted)} columns",
                                   f"{table} — schema matches spec version {version or spec.version}"))

    present = [c for c in wanted if c in actual and c not in wrong]
    keys = [k for k in spec.primary_keys if k in actual]
    aggs = [F.count(F.lit(1)).alias("rows")]
    key_stats = {}
    if keys:
        # its own small job: a distinct count next to the other aggregates makes Spark expand every
        # row once per distinct group and carry all buffers through it, which is slow
        key_stats = df.agg(
            F.count_distinct(F.struct(*[F.col(k) for k in keys])).alias("distinct_keys"),
            F.count_if(F.greatest(*[F.col(k).isNull() for k in keys]) if len(keys) > 1
                       else F.col(keys[0]).isNull()).alias("null_keys")).first().asDict()
    numeric = [c for c in present if expected[c].type in NUMERIC and c not in spec.primary_keys]
    for c in present:
        if c in spec.primary_keys:
            continue
        aggs.append(F.count_if(F.col(c).isNull()).alias(f"{c}__nulls"))
    for c in numeric:
        aggs += [F.min(c).alias(f"{c}__min"), F.max(c).alias(f"{c}__max"), F.avg(c).alias(f"{c}__mean"),
                 F.stddev_pop(c).alias(f"{c}__std")]
    rules = []
    if columns is None:
        for rule in spec.constraints:
            if any(re.search(rf"\b{re.escape(c)}\b", rule["expr"]) for c in missing + wrong):
                continue          # the schema check already fails for that column
            rules.append(rule)
            try:
                # like a Delta CHECK constraint, a rule that evaluates to NULL counts as broken
                aggs.append(F.count_if(~F.coalesce(F.expr(rule["expr"]), F.lit(False))).alias(f"rule__{rule['name']}"))
            except Exception:
                rules.pop()
    try:
        stats = df.agg(*aggs).first().asDict()
    except Exception as exc:  # a rule naming a column that is gone, say
        rules = []
        stats = df.agg(*[a for a in aggs if "rule__" not in str(a)]).first().asDict()
        results.append(CheckResult("constraint", "*", False, type(exc).__name__, "evaluable",
                                   f"{table} — constraint: rules could not be evaluated"))
    rows = int(stats["rows"])

    if keys:
        dupes = rows - int(key_stats["distinct_keys"])
        nulls = int(key_stats["null_keys"])
        ok = dupes <= 0 and nulls == 0
        key_text = ", ".join(keys)
        results.append(CheckResult(
            "primary_key", key_text, ok, f"{max(dupes, 0)} duplicated, {nulls} null", "0 duplicated, 0 null",
            f"{table}.({key_text}) — primary_key: {max(dupes, 0):,} rows repeat a key, {nulls:,} have a null key"
            if not ok else f"{table}.({key_text}) — primary_key: unique and not null"))

    profile = {"rows": rows, "features": {}}
    for c in present:
        if c in spec.primary_keys:
            continue
        col = expected[c]
        null_rate = (stats[f"{c}__nulls"] / rows) if rows else 0.0
        limit = col.max_null_rate if col.max_null_rate is not None else (0.0 if not col.nullable else None)
        entry = {"null_rate": null_rate}
        if limit is not None:
            ok = null_rate <= limit + 1e-12
            results.append(CheckResult(
                "null_rate", c, ok, f"{null_rate:.4f}", f"<= {limit}",
                f"{table}.{c} — null_rate: {null_rate:.1%} of rows are null, the spec allows {limit:.1%}" if not ok
                else f"{table}.{c} — null_rate: {null_rate:.1%} (allowed {limit:.1%})"))
        if c in numeric:
            lo, hi, mean, std = (stats[f"{c}__min"], stats[f"{c}__max"], stats[f"{c}__mean"], stats[f"{c}__std"])
            entry.update(min=_num(lo), max=_num(hi), mean=_num(mean), std=_num(std))
            if col.range is not None and lo is not None:
                rmin, rmax = col.range
                ok = (rmin is None or lo >= rmin) and (rmax is None or hi <= rmax)
                results.append(CheckResult(
                    "range", c, ok, f"[{_fmt(lo)}, {_fmt(hi)}]", f"[{_fmt(rmin)}, {_fmt(rmax)}]",
                    f"{table}.{c} — range: values span [{_fmt(lo)}, {_fmt(hi)}], outside the spec's "
                    f"[{_fmt(rmin)}, {_fmt(rmax)}]" if not ok else f"{table}.{c} — range: within [{_fmt(rmin)}, {_fmt(rmax)}]"))
            ref = (reference or {}).get("features", {}).get(c)
            if ref and ref.get("mean") is not None and mean is not None:
                tol = spec.drift_tolerance
                bad = []
                for stat, now in (("mean", mean), ("std", std)):
                    before = ref.get(stat)
                    if before is None or now is None:
                        continue
                    ratio = _ratio(now, before)
                    if ratio > tol:
                        bad.append(f"{stat} {now:.4g} is {ratio:.1f}x the reference {before:.4g}")
                ok = not bad
                results.append(CheckResult(
                    "distribution", c, ok, f"mean {_fmt(mean)}, std {_fmt(std)}",
                    f"within {tol}x of mean {_fmt(ref.get('mean'))}, std {_fmt(ref.get('std'))}",
                    f"{table}.{c} — distribution: {'; '.join(bad)} (allowed {tol}x)" if not ok
                    else f"{table}.{c} — distribution: close to the reference"))
        profile["features"][c] = entry
    for rule in rules:
        bad = int(stats[f"rule__{rule['name']}"])
        results.append(CheckResult(
            "constraint", rule["name"], bad == 0, f"{bad} rows", "0 rows",
            f"{table} — constraint {rule['name']}: {bad:,} rows break `{rule['expr']}`" if bad
            else f"{table} — constraint {rule['name']}: holds"))
    return ValidationReport(table=table, run=run, spec_version=version or spec.version, rows=rows, results=results,
                            profile=profile, checked_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))


def _num(x):
    return None if x is None else float(x)


def _ratio(now: float, before: float) -> float:
    """How many times larger or smaller `now` is than `before` (1.0 = equal)."""
    eps = 1e-9
    a, b = abs(now) + eps, abs(before) + eps
    if max(a, b) < 0.05:      # both near zero: no meaningful ratio
        return 1.0
    return max(a / b, b / a)


def persist(p, reports: list[ValidationReport]) -> dict:
    """Write check results into `feature_validation_results` with one MERGE (rerun: same keys)."""
    spark, table = p.spark, p.table(RESULTS_TABLE)
    schema = ("run STRING, table_name STRING, spec_version INT, check_name STRING, feature STRING, passed BOOLEAN, "
              "observed STRING, expected STRING, message STRING, rows BIGINT, checked_at STRING")
    rows = [(rep.run, rep.table, rep.spec_version, r.check, r.feature, r.passed, r.observed, r.expected, r.message,
             rep.rows, rep.checked_at) for rep in reports for r in rep.results]
    df = spark.createDataFrame(rows, schema).dropDuplicates(["run", "table_name", "check_name", "feature"])
    df.createOrReplaceTempView("_validation_rows")
    if not p.table_exists(RESULTS_TABLE):
        # nothing to merge with yet: create the table (run is NOT NULL) and insert the rows
        spark.sql(f"CREATE TABLE {table} ({schema.replace('run STRING', 'run STRING NOT NULL')}) USING DELTA "
                  "COMMENT 'Every feature validation check: which run, which feature, what was seen and "
                  "what the spec expected'")
        spark.sql(f"INSERT INTO {table} SELECT * FROM _validation_rows")
        return {"table": RESULTS_TABLE, "rows": len(rows)}
    spark.sql(f"""MERGE INTO {table} t USING _validation_rows s
                  ON t.run = s.run AND t.table_name = s.table_name AND t.check_name = s.check_name AND t.feature = s.feature
                  WHEN MATCHED THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *""")
    return {"table": RESULTS_TABLE, "rows": len(rows)}


def save_profile(report: ValidationReport, path: str) -> None:
    import os
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as fh:
        json.dump({"table": report.table, "run": report.run, "checked_at": report.checked_at, **report.profile},
                  fh, indent=1, sort_keys=True, default=lambda x: None if isinstance(x, float) and math.isnan(x) else x)


def load_profile(path: str) -> dict | None:
    import os
    if not os.path.exists(path):
        return None
    with open(path) as fh:
        return json.load(fh)


def publish(fe, name: str, df, spec, *, run: str, version: int | None = None, reference: dict | None = None,
            columns: list[str] | None = None, commit_info: dict | None = None):
    """Validate, then write with `fe.write_table`; a failed check raises before anything is written.

    `commit_info` is stored as the Delta commit's user metadata (visible in DESCRIBE HISTORY).
    Returns (report, write result).
    """
    report = validate(df, spec, run=run, version=version, reference=reference, columns=columns)
    report.raise_for_failures()
    from lakeprep.commits import commit_info as stamped

    # df's session, not fe's: the real Databricks client has no `spark` attribute
    with stamped(df.sparkSession, commit_info):
        written = fe.write_table(name=name, df=df)
    if not isinstance(written, dict):      # the Databricks client returns nothing: report what was offered
        written = {"table": name, "changed_rows": report.rows, "committed": True}
    return report, written
