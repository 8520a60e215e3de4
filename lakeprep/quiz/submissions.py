"""Reading learners' submission files without trusting them.

A batch of submissions is untrusted input: a file may be huge, not UTF-8, not YAML, a list instead
of a mapping, or name a learner `../../etc/x`. Each file is read on its own with a size cap and
the safe loaders only, and any problem becomes a `Problem` (a row of errors.csv: file, field,
problem, fix) so that the rest of the batch is still graded.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lakeprep.quiz import yamlsafe

MAX_BYTES = 1_000_000  # a full 59-question exam is ~2 KB; anything near 1 MB is not a submission
MAX_LEARNER_LENGTH = 128
SUFFIXES = (".yml", ".yaml", ".json")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Problem:
    """A row of errors.csv."""

    file: str
    field: str
    problem: str
    fix: str


@dataclass
class Submission:
    file: str
    learner: str
    bank: str
    answers: dict[str, Any]
    questions: list[str] | None = None  # exam submissions: the ids that were on the learner's exam


def _parse(text: str, suffix: str) -> Any:
    if suffix == ".json":
        return json.loads(text)
    return yamlsafe.load(text)


def read_submission(path: Path, name: str) -> tuple[Submission | None, list[Problem]]:
    """One submission, or None with the problems that stop it from being graded."""

    def fail(field: str, problem: str, fix: str) -> tuple[None, list[Problem]]:
        return None, [Problem(name, field, problem, fix)]

    if path.suffix.lower() not in SUFFIXES:
        return fail("", f"unsupported file type {path.suffix or '(none)'}",
                    "submit a .yml, .yaml or .json file; move other files out of the submissions folder")
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            return fail("", f"file is {size:,} bytes; a submission is at most {MAX_BYTES:,}",
                        "submit only learner, bank and answers")
        raw = path.read_bytes()
    except OSError as exc:
        return fail("", f"cannot read the file ({exc.strerror})", "check the file's permissions")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return fail("", f"not UTF-8 text (bad byte at offset {exc.start})", "save the file as UTF-8")
    try:
        data = _parse(text, path.suffix.lower())
    except json.JSONDecodeError as exc:
        return fail("", f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}",
                    "fix the JSON syntax (a validator such as `python -m json.tool FILE` shows where)")
    except yamlsafe.YamlSyntaxError as exc:
        return fail("", f"invalid YAML at line {exc.line}: {exc}", "fix the YAML syntax on that line")
    except (RecursionError, MemoryError, ValueError, TypeError) as exc:
        return fail("", f"cannot parse the file ({type(exc).__name__})", "submit a flat mapping of answers")
    if not isinstance(data, dict):
        return fail("", f"the file holds a {type(data).__name__}, not a mapping",
                    "write a mapping with the fields learner, bank and answers")

    learner = data.get("learner")
    if isinstance(learner, bool) or not isinstance(learner, (str, int)):
        return fail("learner", "missing learner id", "add `learner: <your id>`")
    learner = _CONTROL.sub("", str(learner)).strip()
    if not learner:
        return fail("learner", "empty learner id", "add `learner: <your id>`")
    if len(learner) > MAX_LEARNER_LENGTH:
        return fail("learner", f"learner id longer than {MAX_LEARNER_LENGTH} characters", "use a short id")

    bank = data.get("bank")
    if not isinstance(bank, str) or not bank.strip():
        return fail("bank", "missing bank id", "add `bank: <bank id>` (e.g. ch02) or the exam id")

    answers = data.get("answers")
    if answers is None:
        answers = {}
    if not isinstance(answers, dict):
        return fail("answers", f"answers is a {type(answers).__name__}, not a mapping",
                    "write `answers: {question-id: answer, ...}`")

    questions = data.get("questions")
    if questions is not None:
        if not isinstance(questions, list) or not all(isinstance(q, str) for q in questions):
            return fail("questions", "questions must be a list of question ids",
                        "write `questions: [id, ...]` (only exam submissions need it) or remove it")
    return Submission(file=name, learner=learner, bank=bank.strip(),
                      answers={str(k): v for k, v in answers.items()}, questions=questions), []
