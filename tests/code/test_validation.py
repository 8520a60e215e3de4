"""Validation helpers that need no Spark: drift ratios, reports and the error message."""
from lakeprep.validation import CheckResult, FeatureValidationError, ValidationReport, _ratio


def test_ratio_is_symmetric_and_ignores_values_near_zero():
    assert _ratio(10, 10) == 1.0
    assert round(_ratio(1000, 10)) == 100 and round(_ratio(10, 1000)) == 100
    assert _ratio(0.001, 0.02) == 1.0


def test_error_names_table_feature_and_check():
    report = ValidationReport(table="t", run="r", spec_version=1, rows=10, results=[
        CheckResult("null_rate", "x", False, "0.5", "<= 0", "t.x — null_rate: 50.0% of rows are null"),
        CheckResult("range", "y", True, "[0, 1]", "[0, 1]", "ok"),
    ])
    assert not report.passed and [r.feature for r in report.failures] == ["x"]
    error = FeatureValidationError(report)
    assert "t: 1 check(s) failed, nothing was written" in str(error) and "t.x — null_rate" in str(error)
    assert "FAILED (1)" in report.summary()
