"""`lakeprep promote`: move an alias (default `champion`) to a version that passed its gates, or
roll it back to the version it replaced.

    lakeprep promote --model churn_model --reason "beats v3 on PR-AUC"         # @challenger → @champion
    lakeprep promote --model lakeprep.course.churn_model --version 7 --reason "..."
    lakeprep promote --model churn_model --rollback --reason "drift alert INC-42"

Written to run as a job step: no prompts, one line of output, and exit codes a scheduler can act on:
0 moved (or already there), 2 bad input (unknown model, alias or version), 3 refused by a gate.
Every move is recorded on the versions (`promoted_by`, `promoted_at`, `promotion_reason`,
`previous_champion`; `rolled_back_*` / `restored_*` for a rollback), so the registry itself is the
audit trail.
"""
from __future__ import annotations

import getpass
import os
import sys
import time
from dataclasses import dataclass

from lakeprep.errors import LakeprepError

EXIT_REFUSED = 3
NONE = "none"


class PromotionRefused(LakeprepError):
    """The version exists but may not take the alias: a gate failed or never ran."""


@dataclass
class Promotion:
    action: str              # promoted | rolled back | unchanged
    model: str
    alias: str
    version: str
    previous: str | None
    actor: str
    reason: str
    at: str

    def __str__(self) -> str:
        if self.action == "unchanged":
            return f"{self.model}@{self.alias} is already version {self.version}; nothing to do"
        was = f" (was v{self.previous})" if self.previous else " (first time)"
        return (f"{self.action}: {self.model}@{self.alias} → v{self.version}{was} by {self.actor}"
                + (f": {self.reason}" if self.reason else ""))


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def default_actor() -> str:
    return os.environ.get("USER") or getpass.getuser()


def _client(client=None):
    from mlflow import MlflowClient

    return client or MlflowClient()


def _require_model(client, name: str) -> None:
    from mlflow.exceptions import MlflowException

    try:
        client.get_registered_model(name)
    except MlflowException:
        raise LakeprepError(f"registered model `{name}` does not exist in "
                            f"{_registry_uri()}") from None


def _registry_uri() -> str:
    import mlflow

    return mlflow.get_registry_uri()


def _version(client, name: str, version: str):
    from mlflow.exceptions import MlflowException

    try:
        return client.get_model_version(name, str(version))
    except MlflowException:
        raise LakeprepError(f"`{name}` has no version {version}") from None


def _by_alias(client, name: str, alias: str, *, required: bool = True):
    from mlflow.exceptions import MlflowException

    try:
        return client.get_model_version_by_alias(name, alias)
    except MlflowException:
        if required:
            raise LakeprepError(f"`{name}` has no alias `@{alias}`") from None
        return None


def check_gates(mv, name: str) -> None:
    """Refuse unless the version's `gate_status` tag says passed, naming the failing gates."""
    status = mv.tags.get("gate_status")
    if status == "passed":
        return
    if status is None:
        raise PromotionRefused(f"refused: {name} v{mv.version} has no gate_status tag; run the "
                               "gates on it first")
    failed = mv.tags.get("gate_failed", "unknown")
    raise PromotionRefused(f"refused: {name} v{mv.version} failed gate(s): {failed} "
                           f"(gate_status={status}, report in run {mv.tags.get('gate_run_id', '?')})")


def promote(name: str, *, source: str = "challenger", version: str | None = None,
            alias: str = "champion", reason: str = "", actor: str | None = None,
            client=None) -> Promotion:
    """Point `alias` at the version behind `@source` (or `version`) if its gates passed."""
    client = _client(client)
    actor = actor or default_actor()
    _require_model(client, name)
    mv = _version(client, name, version) if version is not None else _by_alias(client, name, source)
    check_gates(mv, name)
    current = _by_alias(client, name, alias, required=False)
    previous = str(current.version) if current is not None else None
    if previous == str(mv.version):
        return Promotion("unchanged", name, alias, str(mv.version), previous, actor, reason, _now())
    at = _now()
    client.set_registered_model_alias(name, alias, str(mv.version))
    for key, value in {"promoted_by": actor, "promoted_at": at,
                       "promotion_reason": reason or "not given",
                       "previous_champion" if alias == "champion" else f"previous_{alias}":
                           previous or NONE,
                       "promoted_from": f"v{mv.version}" if version is not None else f"@{source}",
                       "promoted_to": f"@{alias}"}.items():
        client.set_model_version_tag(name, str(mv.version), key, value)
    client.set_registered_model_tag(name, f"last_{alias}_change",
                                    f"{at} v{previous or NONE}→v{mv.version} by {actor}")
    return Promotion("promoted", name, alias, str(mv.version), previous, actor, reason, at)


def rollback(name: str, *, alias: str = "champion", reason: str = "", actor: str | None = None,
             client=None) -> Promotion:
    """Move `alias` back to the version recorded as its predecessor on the current holder."""
    client = _client(client)
    actor = actor or default_actor()
    _require_model(client, name)
    current = _by_alias(client, name, alias)
    key = "previous_champion" if alias == "champion" else f"previous_{alias}"
    previous = current.tags.get(key)
    if not previous or previous == NONE:
        raise LakeprepError(f"`{name}@{alias}` (v{current.version}) has no previous version "
                            f"recorded (tag {key}); nothing to roll back to")
    target = _version(client, name, previous)
    check_gates(target, name)
    at = _now()
    client.set_registered_model_alias(name, alias, str(target.version))
    for k, v in {"rolled_back_by": actor, "rolled_back_at": at,
                 "rollback_reason": reason or "not given"}.items():
        client.set_model_version_tag(name, str(current.version), k, v)
    for k, v in {"restored_by": actor, "restored_at": at, "restore_reason": reason or "not given",
                 "restored_from": f"v{current.version}"}.items():
        client.set_model_version_tag(name, str(target.version), k, v)
    client.set_registered_model_tag(name, f"last_{alias}_change",
                                    f"{at} v{current.version}→v{target.version} (rollback) by {actor}")
    return Promotion("rolled back", name, alias, str(target.version), str(current.version), actor,
                     reason, at)


# -- command line ----------------------------------------------------------------------------------

def add_commands(sub) -> None:
    parser = sub.add_parser(
        "promote", help="move @champion to a version that passed its gates, or roll it back",
        description="Move an alias to a registered model version whose gate_status tag is "
                    "'passed', recording who and why; --rollback restores the previous holder. "
                    "Exit codes: 0 done, 2 unknown model/alias/version, 3 refused by a gate.")
    parser.add_argument("--model", required=True,
                        help="bare name (mapped with --target/--catalog/--schema) or catalog.schema.name")
    parser.add_argument("--from", dest="source", default="challenger",
                        help="alias of the version to promote (default: challenger)")
    parser.add_argument("--version", help="promote this version number instead of an alias")
    parser.add_argument("--to", dest="alias", default="champion",
                        help="the alias to move (default: champion)")
    parser.add_argument("--rollback", action="store_true",
                        help="move the alias back to the version recorded in previous_champion")
    parser.add_argument("--reason", default="", help="why: kept on the version as evidence")
    parser.add_argument("--actor", help="who (default: $USER); a job passes its principal")
    parser.add_argument("--target", default="local", help="local or databricks (default: local)")
    parser.add_argument("--catalog", default="", help="catalog for a bare model name")
    parser.add_argument("--schema", default="", help="schema for a bare model name")
    parser.add_argument("--registry-uri", default="",
                        help="registry to use (default: the target's, from its settings)")
    parser.set_defaults(func=_run)


def _setup(args) -> str:
    from lakeprep.registry import resolve_name

    name = resolve_name(args.model, target=args.target, catalog=args.catalog, schema=args.schema)
    import mlflow  # only now: a mistyped name fails before the slow import

    if args.registry_uri:
        mlflow.set_tracking_uri(args.registry_uri)
        mlflow.set_registry_uri(args.registry_uri)
    else:
        from lakeprep.platform import get_platform

        get_platform(args.target, catalog=args.catalog, schema=args.schema).setup_mlflow()
    return name


def _run(args) -> int:
    import logging

    logging.getLogger("mlflow").setLevel(logging.ERROR)  # keep job logs to our one line
    if args.rollback and args.version:
        raise LakeprepError("--rollback and --version exclude each other")
    name = _setup(args)
    try:
        if args.rollback:
            result = rollback(name, alias=args.alias, reason=args.reason, actor=args.actor)
        else:
            result = promote(name, source=args.source, version=args.version, alias=args.alias,
                             reason=args.reason, actor=args.actor)
    except PromotionRefused as exc:
        print(f"lakeprep promote: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    print(result)
    return 0
