"""Where the engine finds the banks and keeps a learner's state, and how names become file names.

Kept apart so that every command resolves locations the same way and tests can redirect the
state directory with one environment variable (`LAKEPREP_QUIZ_HOME`).
"""
from __future__ import annotations

import hashlib
import os
import re
import unicodedata
from pathlib import Path

STATE_ENV = "LAKEPREP_QUIZ_HOME"

# Files in a bank directory that are catalogues, not question banks.
NON_BANK_FILES = frozenset({"objectives.yml", "sections.yml"})


def repo_root() -> Path:
    """The checkout that holds `quizzes/` and `book/`.

    The current directory wins when it is a lakeprep checkout, so that a learner who runs the
    installed command from their clone sees their own banks; otherwise the checkout this package
    was imported from.
    """
    cwd = Path.cwd()
    if (cwd / "quizzes" / "objectives.yml").is_file():
        return cwd
    return Path(__file__).resolve().parents[2]


def default_bank_dir() -> Path:
    return repo_root() / "quizzes"


def default_sections_file() -> Path:
    return repo_root() / "book" / "sections.yml"


def state_dir(create: bool = True) -> Path:
    """The learner's private state (exam in progress, review queue): never inside the checkout."""
    base = os.environ.get(STATE_ENV)
    path = Path(base).expanduser() if base else Path.home() / ".lakeprep"
    if create:
        path.mkdir(parents=True, exist_ok=True)
    return path


def bank_files(directory: Path) -> list[Path]:
    """The question banks of a directory: every `*.yml`/`*.yaml` except the catalogues, sorted."""
    files = [p for p in directory.iterdir() if p.is_file() and p.suffix in (".yml", ".yaml")]
    return sorted(p for p in files if p.name not in NON_BANK_FILES)


def rubric_files(directory: Path) -> list[Path]:
    rubrics = directory / "rubrics"
    if not rubrics.is_dir():
        return []
    return sorted(p for p in rubrics.iterdir() if p.is_file() and p.suffix in (".yml", ".yaml"))


_UNSAFE = re.compile(r"[^a-z0-9_-]+")


def safe_slug(text: object, max_length: int = 48) -> str:
    """A file-name-safe slug for a learner or bank id that came from an untrusted file.

    Only `[a-z0-9_-]` survive, so `../../etc/x` cannot climb out of the output directory, and a
    short hash of the original is appended whenever anything was changed, so that two different
    ids (`Alice` and `alice`, or two ids that differ only in punctuation) never share a file.
    """
    original = str(text)
    ascii_text = unicodedata.normalize("NFKD", original).encode("ascii", "ignore").decode("ascii")
    slug = _UNSAFE.sub("-", ascii_text.lower()).strip("-_")[:max_length].strip("-_")
    if slug == original and slug:
        return slug
    digest = hashlib.sha1(original.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{slug or 'id'}-{digest}"
