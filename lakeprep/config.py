"""Per-target settings: YAML files in lakeprep/config/ with environment-variable overrides.

Kept free of heavy imports: the CLI reads settings before anything decides to start Spark.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from lakeprep.errors import choice_error

TARGETS = ("local", "databricks")
SCALES = ("small", "medium", "large")
SOURCES = ("solutions", "labs")
CHAPTERS = (1, 2, 3, 4, 5, 6)

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parent


@dataclass(frozen=True)
class Settings:
    target: str
    values: dict = field(default_factory=dict)

    def __getitem__(self, key: str):
        return self.values[key]

    def get(self, key: str, default=None):
        return self.values.get(key, default)

    def path(self, key: str) -> Path:
        """A path setting, made absolute against the repository root."""
        value = Path(os.path.expanduser(str(self.values[key])))
        return value if value.is_absolute() else (REPO_ROOT / value).resolve()


def check_choice(what: str, value, valid):
    if value not in valid:
        raise choice_error(what, value, valid)
    return value


def load_settings(target: str = "local", environ=None) -> Settings:
    """Read `config/<target>.yml`, then apply LAKEPREP_<KEY> overrides from the environment."""
    import yaml

    check_choice("target", target, TARGETS)
    environ = os.environ if environ is None else environ
    values = yaml.safe_load((PACKAGE_DIR / "config" / f"{target}.yml").read_text()) or {}
    for key in list(values):
        override = environ.get(f"LAKEPREP_{key.upper()}")
        if override is not None:
            values[key] = override
    if target == "local" and environ.get("LAKEPREP_HOME"):
        values["workspace"] = environ["LAKEPREP_HOME"]
    return Settings(target, values)
