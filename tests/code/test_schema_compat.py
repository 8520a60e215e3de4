"""The signature-compatibility rules that the promotion gate relies on."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from mlflow.models import ModelSignature, infer_signature
from mlflow.types import ColSpec, Schema

from lakeprep.schema_compat import compare_schemas, compare_signatures


def schema(*cols):
    """cols: (name, type) or (name, type, required)."""
    return Schema([ColSpec(c[1], c[0], required=c[2] if len(c) > 2 else True) for c in cols])


BASE = schema(("tenure_days", "long"), ("country", "string"), ("sessions_30d", "double"))


def kinds(report):
    return sorted((c.kind, c.column) for c in report.changes)


def test_identical_schemas_are_compatible_with_no_changes():
    report = compare_schemas(BASE, schema(("tenure_days", "long"), ("country", "string"),
                                          ("sessions_30d", "double")))
    assert report.compatible and report.changes == []


def test_column_order_does_not_matter():
    shuffled = schema(("sessions_30d", "double"), ("tenure_days", "long"), ("country", "string"))
    assert compare_schemas(BASE, shuffled).changes == []


def test_new_optional_column_is_fine():
    report = compare_schemas(BASE, Schema(BASE.inputs + [ColSpec("double", "basket_avg",
                                                                  required=False)]))
    assert report.compatible
    assert kinds(report) == [("added_optional", "basket_avg")]


def test_new_required_column_breaks():
    report = compare_schemas(BASE, Schema(BASE.inputs + [ColSpec("double", "basket_avg")]))
    assert not report.compatible
    assert kinds(report) == [("added_required", "basket_avg")]


def test_removed_column_breaks():
    report = compare_schemas(BASE, schema(("tenure_days", "long"), ("country", "string")))
    assert not report.compatible
    assert kinds(report) == [("removed", "sessions_30d")]


def test_rename_is_reported_as_a_rename_and_breaks():
    renamed = schema(("tenure_days", "long"), ("country_code", "string"), ("sessions_30d", "double"))
    report = compare_schemas(BASE, renamed)
    assert not report.compatible
    (change,) = report.changes
    assert (change.kind, change.old, change.new) == ("renamed", "country", "country_code")
    assert "renamed" in str(report)


def test_dtype_change_breaks():
    report = compare_schemas(BASE, schema(("tenure_days", "double"), ("country", "string"),
                                          ("sessions_30d", "double")))
    assert not report.compatible
    (change,) = report.changes
    assert (change.kind, change.old, change.new) == ("dtype_changed", "long", "double")


def test_widening_is_breaking_unless_allowed():
    old = schema(("n", "integer"), ("x", "float"))
    new = schema(("n", "long"), ("x", "double"))
    assert not compare_schemas(old, new).compatible
    assert compare_schemas(old, new, allow_widening=True).compatible
    narrowing = compare_schemas(new, old, allow_widening=True)
    assert not narrowing.compatible and len(narrowing.breaking) == 2


def test_optional_to_required_breaks_and_required_to_optional_does_not():
    optional = schema(("tenure_days", "long", False), ("country", "string"), ("sessions_30d", "double"))
    assert kinds(compare_schemas(optional, BASE)) == [("became_required", "tenure_days")]
    assert not compare_schemas(optional, BASE).compatible
    assert compare_schemas(BASE, optional).compatible


def test_several_changes_are_all_listed():
    new = schema(("tenure", "long"), ("country", "long"), ("extra", "string", False))
    report = compare_schemas(BASE, new)
    assert kinds(report) == [("added_optional", "extra"), ("dtype_changed", "country"),
                             ("removed", "sessions_30d"), ("renamed", "long")]
    assert len(report.breaking) == 3


def test_signatures_from_real_frames_and_dict_form():
    frame = pd.DataFrame({"tenure_days": np.array([10, 20], dtype="int64"),
                          "country": ["DE", "FR"], "sessions_30d": [1.0, 2.0]})
    old = infer_signature(frame, pd.Series([0.1, 0.2], name="probability"))
    same = infer_signature(frame.copy(), pd.Series([0.3, 0.4], name="probability"))
    assert compare_signatures(old, same).compatible
    # the dict form that a registry version stores compares the same way
    assert compare_signatures(old.to_dict(), same.to_dict()).changes == []
    broken = infer_signature(frame.rename(columns={"country": "country_iso"}),
                             pd.Series([0.3, 0.4], name="probability"))
    report = compare_signatures(old, broken)
    assert not report.compatible and report.breaking[0].kind == "renamed"


def test_output_changes_are_checked():
    frame = pd.DataFrame({"x": [1.0, 2.0]})
    old = infer_signature(frame, pd.Series([0.1, 0.2], name="probability"))
    new = infer_signature(frame, pd.Series(["a", "b"], name="probability"))
    report = compare_signatures(old, new)
    assert not report.compatible and report.breaking[0].kind == "dtype_changed"
    assert compare_signatures(old, new, check_outputs=False).compatible


def test_missing_signature_breaks_and_first_version_only_needs_one():
    sig = ModelSignature(inputs=BASE)
    assert not compare_signatures(sig, None).compatible
    assert compare_signatures(None, sig).compatible
    assert "no input signature" in str(compare_signatures(None, None))


def test_unnamed_columns_are_refused():
    with pytest.raises(ValueError, match="named columns"):
        compare_schemas(Schema([ColSpec("double")]), BASE)
