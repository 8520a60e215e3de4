"""Is a new model version's signature compatible with the one that serves today?

A model signature is the contract between whoever sends rows (a batch job, an endpoint client, a
feature pipeline) and the model. The rules below decide whether callers written against the old
contract keep working against the new one:

- a new column that is optional (``required=False``)    compatible: old callers just omit it
- a new column that is required                         breaking: old callers never send it
- a column removed                                      breaking: the contract lost a field
- a column renamed (removed + added with the same type) breaking, reported as a rename
- a column whose type changed                           breaking (``allow_widening=True`` accepts
                                                        integer→long and float→double)
- an optional column that became required               breaking
- a required column that became optional                compatible
- no signature at all on the new version                breaking: Unity Catalog rejects it

The checker works on MLflow objects (``ModelSignature``, ``Schema``) and on the signature dict that a
registry version carries (``ModelSignature.to_dict()``), so a gate can compare two versions without
loading either model.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

# Type changes that cannot lose information, accepted only when a caller asks for it.
_WIDENING = {("integer", "long"), ("float", "double"), ("integer", "double")}


@dataclass(frozen=True)
class Change:
    """One difference between two schemas."""

    kind: str            # added_optional, added_required, removed, renamed, dtype_changed,
                         # became_required, became_optional, signature_missing
    column: str
    breaking: bool
    old: str | None = None
    new: str | None = None

    def __str__(self) -> str:
        what = {
            "added_optional": f"new optional column `{self.column}` ({self.new})",
            "added_required": f"new required column `{self.column}` ({self.new}): old callers "
                              "never send it",
            "removed": f"column `{self.column}` ({self.old}) was removed",
            "renamed": f"column `{self.old}` looks renamed to `{self.new}` "
                       f"(same type, {self.column})",
            "dtype_changed": f"column `{self.column}` changed type {self.old} → {self.new}",
            "became_required": f"column `{self.column}` was optional and is now required",
            "became_optional": f"column `{self.column}` was required and is now optional",
            "signature_missing": f"{self.column}: {self.new}",
        }[self.kind]
        return ("BREAKING " if self.breaking else "ok       ") + what


@dataclass
class CompatReport:
    """All changes from `old` to `new`; `compatible` is False as soon as one change breaks."""

    changes: list[Change] = field(default_factory=list)
    part: str = "inputs"

    @property
    def breaking(self) -> list[Change]:
        return [c for c in self.changes if c.breaking]

    @property
    def compatible(self) -> bool:
        return not self.breaking

    def __bool__(self) -> bool:
        return self.compatible

    def merged(self, other: "CompatReport") -> "CompatReport":
        return CompatReport(self.changes + other.changes, part=f"{self.part}+{other.part}")

    def to_dict(self) -> dict:
        return {"compatible": self.compatible,
                "changes": [asdict(c) | {"text": str(c)} for c in self.changes]}

    def __str__(self) -> str:
        if not self.changes:
            return f"{self.part}: identical"
        head = f"{self.part}: {'compatible' if self.compatible else 'BREAKING'}"
        return "\n".join([head] + [f"  {c}" for c in self.changes])


# -- reading schemas ---------------------------------------------------------------------------

def _columns(schema) -> dict[str, tuple[str, bool]]:
    """{name: (type text, required)} for a column-based schema (an MLflow Schema or its dict)."""
    if schema is None:
        return {}
    if hasattr(schema, "to_dict"):
        specs = schema.to_dict()
    elif isinstance(schema, str):
        specs = json.loads(schema)
    else:
        specs = list(schema)
    out = {}
    for position, spec in enumerate(specs):
        spec = dict(spec)
        name = spec.pop("name", None)
        required = bool(spec.pop("required", True))
        if spec.get("type") == "tensor":
            # Tensor inputs have no column names: compare them by position.
            name = name if name is not None else f"#{position}"
        elif name is None:
            raise ValueError("schema_compat compares column-based schemas with named columns; "
                             f"column {position} has no name")
        text = spec["type"] if set(spec) == {"type"} else json.dumps(spec, sort_keys=True)
        out[str(name)] = (text, required)
    return out


def _signature_parts(signature) -> tuple:
    """(inputs, outputs) from a ModelSignature, its to_dict() form or None."""
    if signature is None:
        return None, None
    if isinstance(signature, dict):
        return signature.get("inputs"), signature.get("outputs")
    return signature.inputs, signature.outputs


# -- comparing -----------------------------------------------------------------------------------

def compare_schemas(old, new, *, part: str = "inputs", allow_widening: bool = False) -> CompatReport:
    """Every change from the `old` schema to the `new` one, each marked breaking or not."""
    before, after = _columns(old), _columns(new)
    changes: list[Change] = []
    removed = [n for n in before if n not in after]
    added = [n for n in after if n not in before]

    # A removed column and an added one with the same type and requiredness is most likely a
    # rename: say so, since "x removed, y added" hides what happened.
    renamed_from: dict[str, str] = {}
    for old_name in removed:
        for new_name in added:
            if new_name not in renamed_from.values() and before[old_name] == after[new_name]:
                renamed_from[old_name] = new_name
                break
    for old_name, new_name in renamed_from.items():
        changes.append(Change("renamed", before[old_name][0], True, old_name, new_name))

    for name in removed:
        if name not in renamed_from:
            changes.append(Change("removed", name, True, old=before[name][0]))
    for name in added:
        if name in renamed_from.values():
            continue
        dtype, required = after[name]
        changes.append(Change("added_required" if required else "added_optional", name,
                              required, new=dtype))
    for name in before:
        if name not in after:
            continue
        (old_type, old_required), (new_type, new_required) = before[name], after[name]
        if old_type != new_type:
            widening = allow_widening and (old_type, new_type) in _WIDENING
            changes.append(Change("dtype_changed", name, not widening, old_type, new_type))
        if old_required != new_required:
            changes.append(Change("became_required" if new_required else "became_optional",
                                  name, new_required))
    return CompatReport(changes, part=part)


def compare_signatures(old, new, *, allow_widening: bool = False,
                       check_outputs: bool = True) -> CompatReport:
    """Compare two model signatures (inputs, and outputs unless `check_outputs=False`).

    `old=None` means there is nothing to stay compatible with (a first version): only the
    presence of a signature on `new` is checked.
    """
    new_inputs, new_outputs = _signature_parts(new)
    if new is None or new_inputs is None:
        return CompatReport([Change("signature_missing", "signature", True,
                                    new="the new version has no input signature")])
    old_inputs, old_outputs = _signature_parts(old)
    if old is None:
        return CompatReport([], part="inputs (no previous signature)")
    report = compare_schemas(old_inputs, new_inputs, part="inputs", allow_widening=allow_widening)
    if check_outputs and old_outputs is not None:
        if new_outputs is None:
            report = report.merged(CompatReport(
                [Change("signature_missing", "outputs", True, new="the output schema is gone")],
                part="outputs"))
        else:
            report = report.merged(compare_schemas(old_outputs, new_outputs, part="outputs",
                                                   allow_widening=allow_widening))
    return report


def signature_of_version(name: str, version: str | int, client=None):
    """The ModelSignature of a registered model version, or None when it was logged without one."""
    from mlflow import MlflowClient
    from mlflow.models import get_model_info

    client = client or MlflowClient()
    mv = client.get_model_version(name, str(version))
    return get_model_info(f"models:/{name}/{mv.version}").signature
