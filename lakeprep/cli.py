"""The `lakeprep` command line.

Every verb lives in a small module that adds its own sub-commands through `add_commands` and keeps
its heavy imports (Spark, MLflow, papermill) inside the functions that need them, so that start-up
stays fast: `lakeprep quiz --help` never loads Spark or MLflow.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from lakeprep.errors import LakeprepError

# Modules that contribute verbs, in the order `lakeprep --help` lists them.
COMMAND_MODULES = (
    "lakeprep.doctor",
    "lakeprep.workspace",
    "lakeprep.jars",
    "lakeprep.labs",
    "lakeprep.promote",
    "lakeprep.serving",
    "lakeprep.quiz.cli",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lakeprep",
        description="Executable exam prep for the Databricks ML Professional exam.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:  # a real missing dependency, not a module still to be written
                raise
            continue
        module.add_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except LakeprepError as exc:
        print(f"lakeprep: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("lakeprep: interrupted", file=sys.stderr)
        return 130
