"""Loading and validating question banks.

Validation and loading are one pass: every problem in every file is collected (never just the
first), each with the file, the line of the offending key, the question id and the fix, and only
questions without problems are handed to practice, exams and grading. A bank author therefore
sees the whole list in one `lakeprep bank validate` run, and a learner is never shown a question
whose answer key is broken.
"""
from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from lakeprep.errors import LakeprepError
from lakeprep.quiz import paths, yamlsafe
from lakeprep.quiz.catalog import Catalog
from lakeprep.quiz.model import (
    BANK_FIELDS,
    DIFFICULTIES,
    QUESTION_FIELDS,
    QUESTION_TYPES,
    SCORING_RULES,
    Bank,
    Issue,
    NumericAnswer,
    Question,
)

ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
KEY_PATTERN = re.compile(r"^[A-Za-z0-9_]{1,16}$")


@dataclass
class BankSet:
    """All banks loaded from some files, the valid questions in them, and every problem found."""

    banks: list[Bank] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)

    @property
    def questions(self) -> list[Question]:
        return [q for bank in self.banks for q in bank.questions]

    def by_id(self) -> dict[str, Question]:
        return {q.id: q for q in self.questions}

    def bank(self, bank_id: str) -> Bank | None:
        return next((b for b in self.banks if b.id == bank_id), None)

    @property
    def pool(self) -> list[Question]:
        """The practice-exam pool: questions of banks without a `chapter`."""
        return [q for b in self.banks if b.in_practice_pool for q in b.questions]


def _suggest(value: object, valid: Iterable[str]) -> str:
    close = difflib.get_close_matches(str(value), list(valid), n=1, cutoff=0.6)
    return f" (did you mean `{close[0]}`?)" if close else ""


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


class _Checker:
    """Collects issues for one file; `bad()` records a problem and returns False for chaining."""

    def __init__(self, file: str):
        self.file = file
        self.issues: list[Issue] = []

    def bad(self, line: int, question: str, problem: str, fix: str) -> bool:
        self.issues.append(Issue(self.file, line, question, problem, fix))
        return False


def _text(value: object) -> str | None:
    """Option and feedback text: strings, or numbers YAML read as numbers (`0.5`)."""
    if isinstance(value, str):
        return value if value.strip() else None
    if _is_number(value):
        return str(value)
    return None


def _check_question(raw: object, loc: yamlsafe.Located, bank_id: str, catalog: Catalog,
                    check: _Checker) -> Question | None:
    """Validate one question mapping; return the Question only when it has no problem at all."""
    before = len(check.issues)
    if not isinstance(raw, dict):
        check.bad(loc.line, "", f"a question must be a mapping of fields, found {type(raw).__name__}",
                  "start each question with `- id: ...` followed by its indented fields")
        return None
    qid = raw.get("id")
    label = str(qid) if qid is not None else "?"
    line = loc.key_line

    for key, dup_line in loc.duplicates:
        check.bad(dup_line, label, f"field `{key}` appears twice (YAML keeps only the last)",
                  f"delete one of the `{key}:` lines")
    for key in raw:
        if str(key) not in QUESTION_FIELDS:
            check.bad(line(str(key)), label, f"unknown field `{key}`{_suggest(key, QUESTION_FIELDS)}",
                      f"use only: {', '.join(QUESTION_FIELDS)}")

    if not isinstance(qid, str) or not ID_PATTERN.match(qid):
        check.bad(line("id"), label, "missing or malformed question id",
                  "give an id of letters, digits, `.`, `_` or `-`, unique across all banks, e.g. `ch02-pit-01`")

    qtype = raw.get("type")
    if qtype not in QUESTION_TYPES:
        check.bad(line("type"), label, f"bad type {qtype!r}{_suggest(qtype, QUESTION_TYPES)}",
                  f"set `type:` to one of {', '.join(QUESTION_TYPES)}")

    stem = raw.get("stem")
    if not isinstance(stem, str) or not stem.strip():
        check.bad(line("stem"), label, "missing stem", "add `stem:` with the question text (Markdown)")

    explanation = raw.get("explanation")
    if not isinstance(explanation, str) or not explanation.strip():
        check.bad(line("explanation"), label, "missing explanation",
                  "add `explanation:` saying why the right answer is right")

    difficulty = raw.get("difficulty")
    if difficulty not in DIFFICULTIES:
        check.bad(line("difficulty"), label, f"bad difficulty {difficulty!r}{_suggest(difficulty, DIFFICULTIES)}",
                  f"set `difficulty:` to one of {', '.join(DIFFICULTIES)}")

    objectives = raw.get("objectives")
    if isinstance(objectives, str):
        check.bad(line("objectives"), label, "objectives must be a list",
                  f"write `objectives: [{objectives}]`")
        objectives = None
    elif not isinstance(objectives, list) or not objectives:
        check.bad(line("objectives"), label, "missing objectives",
                  "add `objectives: [ID, ...]` with exam objective ids from quizzes/objectives.yml")
        objectives = None
    else:
        for oid in objectives:
            known = catalog.objectives.get(str(oid))
            if known is None:
                check.bad(line("objectives"), label, f"unknown objective {oid!r}{_suggest(oid, catalog.objectives)}",
                          f"use an objective id listed in {catalog.source or 'quizzes/objectives.yml'}")
            elif known.retired:
                check.bad(line("objectives"), label, f"objective {oid} is retired from the exam guide",
                          "map the question to a current objective or delete it")

    section = raw.get("section")
    if not isinstance(section, str) or section not in catalog.book:
        problem = "missing section anchor" if section is None else f"unknown section anchor {section!r}"
        check.bad(line("section"), label, problem + _suggest(section, catalog.book),
                  "set `section:` to an anchor listed in book/sections.yml (the book section to revisit)")

    options = raw.get("options")
    keys: list[str] = []
    if qtype in ("single", "multiple"):
        if not isinstance(options, dict) or len(options) < 2:
            check.bad(line("options"), label, f"a {qtype} question needs at least two options",
                      "add `options: {a: \"...\", b: \"...\"}`")
            options = {}
        texts: dict[str, str] = {}
        for key, value in options.items():
            if isinstance(key, bool) or not KEY_PATTERN.match(str(key)):
                check.bad(line("options"), label, f"option key {key!r} is not a short name"
                          + (" (YAML read it as a boolean)" if isinstance(key, bool) else ""),
                          "use keys like a, b, c, d (quote keys such as 'yes'/'no'/'on'/'off')")
                continue
            text = _text(value)
            if text is None:
                check.bad(line("options"), label, f"option {key} has no text",
                          f"write the option text after `{key}:` (quote it if it reads as true/false/null)")
                continue
            if text in texts.values():
                other = next(k for k, t in texts.items() if t == text)
                check.bad(line("options"), label, f"options {other} and {key} have the same text",
                          "make every option distinct")
            texts[str(key)] = text
        options = texts
        keys = list(texts)
    elif options is not None:
        check.bad(line("options"), label, f"a {qtype} question takes no options",
                  "remove `options:`" + (" (the choices are true and false)" if qtype == "truefalse" else ""))

    answer: Any = raw.get("answer")
    if "answer" not in raw:
        check.bad(line("answer"), label, "missing answer", "add `answer:` (see quizzes/README.md for each type)")
    elif qtype == "single":
        if isinstance(answer, list):
            check.bad(line("answer"), label, "a single-answer question has one answer key, found a list",
                      "write one key, e.g. `answer: b`, or change `type:` to multiple")
        elif str(answer) not in keys and keys:
            check.bad(line("answer"), label, f"answer {answer!r} is not among the options ({', '.join(keys)})",
                      "set `answer:` to the key of the right option")
        else:
            answer = str(answer)
    elif qtype == "multiple":
        if not isinstance(answer, list):
            check.bad(line("answer"), label, "multiple answer not a list",
                      f"write the right keys as a list, e.g. `answer: [{answer}]`")
        elif not answer:
            check.bad(line("answer"), label, "multiple answer is an empty list", "list at least one right key")
        else:
            chosen = [str(a) for a in answer]
            missing = [a for a in chosen if a not in keys]
            if missing and keys:
                check.bad(line("answer"), label, f"answer keys {', '.join(missing)} are not among the options "
                          f"({', '.join(keys)})", "list only keys that appear under `options:`")
            if len(set(chosen)) != len(chosen):
                check.bad(line("answer"), label, "an answer key is listed twice", "list each right key once")
            answer = tuple(k for k in keys if k in chosen)  # bank order, so exports are stable
    elif qtype == "truefalse":
        if not isinstance(answer, bool):
            check.bad(line("answer"), label, f"a truefalse answer must be true or false, found {answer!r}",
                      "write `answer: true` or `answer: false` without quotes")
    elif qtype == "numeric":
        if _is_number(answer):
            check.bad(line("answer"), label, "numeric without tolerance",
                      f"write `answer: {{value: {answer}, tolerance: 0.01}}` (use tolerance: 0 for an exact value)")
        elif not isinstance(answer, dict) or not _is_number(answer.get("value")):
            check.bad(line("answer"), label, "a numeric answer needs a number `value`",
                      "write `answer: {value: 0.9, tolerance: 0.01}`")
        elif "tolerance" not in answer:
            check.bad(line("answer"), label, "numeric without tolerance",
                      f"add a tolerance: `answer: {{value: {answer['value']}, tolerance: 0.01}}`")
        elif not _is_number(answer["tolerance"]) or answer["tolerance"] < 0:
            check.bad(line("answer"), label, f"bad tolerance {answer['tolerance']!r}",
                      "set `tolerance:` to a number ≥ 0")
        else:
            extra = set(answer) - {"value", "tolerance"}
            if extra:
                check.bad(line("answer"), label, f"unknown numeric answer fields {sorted(map(str, extra))}",
                          "a numeric answer has only `value` and `tolerance`")
            answer = NumericAnswer(float(answer["value"]), float(answer["tolerance"]))

    scoring = raw.get("scoring", "all-or-nothing")
    if "scoring" in raw and qtype != "multiple":
        check.bad(line("scoring"), label, "`scoring` applies to multiple questions only", "remove `scoring:`")
    elif scoring not in SCORING_RULES:
        check.bad(line("scoring"), label, f"bad scoring {scoring!r}{_suggest(scoring, SCORING_RULES)}",
                  "set `scoring:` to all-or-nothing (the default) or partial")

    feedback = raw.get("feedback", {})
    if feedback is None:
        feedback = {}
    if not isinstance(feedback, dict):
        check.bad(line("feedback"), label, "feedback must be a mapping of option key to text",
                  "write `feedback: {a: \"why a is wrong\", ...}`")
        feedback = {}
    fb: dict[str, str] = {}
    if qtype in ("single", "multiple"):
        for key, text in feedback.items():
            if str(key) not in keys:
                check.bad(line("feedback"), label, f"feedback for {key!r}, which is not an option",
                          f"key feedback by option keys ({', '.join(keys)})")
            elif _text(text) is None:
                check.bad(line("feedback"), label, f"feedback for option {key} is empty",
                          f"say why option {key} is wrong")
            else:
                fb[str(key)] = _text(text)
        right = {answer} if isinstance(answer, str) else set(answer) if isinstance(answer, tuple) else set(keys)
        for key in keys:
            if key not in right and key not in fb:
                check.bad(line("feedback"), label, f"missing feedback for wrong option {key}",
                          f"add `{key}: \"why {key} is wrong\"` under `feedback:`")
    elif qtype == "truefalse":
        for key, text in feedback.items():
            norm = str(key).lower()
            if norm not in ("true", "false"):
                check.bad(line("feedback"), label, f"feedback key {key!r} on a truefalse question",
                          "key truefalse feedback by true or false")
            elif _text(text) is not None:
                fb[norm] = _text(text)
    elif qtype == "numeric" and feedback:
        check.bad(line("feedback"), label, "a numeric question has no options to give feedback on",
                  "put the reasoning in `explanation:` and remove `feedback:`")

    if len(check.issues) > before:
        return None
    return Question(
        id=qid, type=qtype, stem=stem, answer=answer, explanation=explanation,
        objectives=tuple(str(o) for o in objectives), section=section, difficulty=difficulty,
        options=dict(options) if qtype in ("single", "multiple") else {}, feedback=fb,
        scoring=scoring if qtype == "multiple" else "all-or-nothing",
        bank=bank_id, file=check.file, line=loc.line,
    )


def load_bank_file(path: Path, catalog: Catalog, display: str | None = None) -> tuple[Bank | None, list[Issue]]:
    """Load one bank file; return the bank (valid questions only) and every problem found in it."""
    name = display or str(path)
    check = _Checker(name)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        check.bad(0, "", f"not UTF-8 (byte {exc.start})", "save the file as UTF-8")
        return None, check.issues
    except OSError as exc:
        check.bad(0, "", f"cannot read the file ({exc.strerror})", "check the path and permissions")
        return None, check.issues
    try:
        data, loc = yamlsafe.load_located(text)
    except yamlsafe.YamlSyntaxError as exc:
        check.bad(exc.line, "", f"YAML syntax error: {exc}", "fix the indentation or quoting on that line "
                  "(quote text containing `: ` or starting with `*`, `&`, `!`, `@`, `[`, `{`)")
        return None, check.issues
    if not isinstance(data, dict):
        check.bad(loc.line, "", "a bank must be a mapping with id, title and questions",
                  "start the file with `id:`, `title:` and `questions:` (see quizzes/README.md)")
        return None, check.issues

    for key, dup_line in loc.duplicates:
        check.bad(dup_line, "", f"top-level field `{key}` appears twice", f"delete one of the `{key}:` lines")
    for key in data:
        if str(key) not in BANK_FIELDS:
            check.bad(loc.key_line(str(key)), "", f"unknown bank field `{key}`{_suggest(key, BANK_FIELDS)}",
                      f"a bank has only: {', '.join(BANK_FIELDS)}")
    bank_id = data.get("id")
    if not isinstance(bank_id, str) or not ID_PATTERN.match(bank_id):
        check.bad(loc.key_line("id"), "", "missing or malformed bank id",
                  f"add `id: {path.stem}` (letters, digits, `.`, `_`, `-`)")
        bank_id = path.stem
    elif bank_id != path.stem:
        check.bad(loc.key_line("id"), "", f"bank id {bank_id!r} differs from the file name {path.name!r}",
                  f"set `id: {path.stem}` or rename the file to {bank_id}{path.suffix}")
    title = data.get("title")
    if not isinstance(title, str) or not title.strip():
        check.bad(loc.key_line("title"), "", "missing bank title", "add `title:` (the chapter or pool title)")
    chapter = data.get("chapter")
    chapters = sorted({s.chapter for s in catalog.book.values()})
    if chapter is not None and (not isinstance(chapter, int) or isinstance(chapter, bool)
                                or (chapters and chapter not in chapters)):
        check.bad(loc.key_line("chapter"), "", f"bad chapter {chapter!r}",
                  f"set `chapter:` to one of {chapters} or omit it for a practice-exam pool bank")
        chapter = None

    questions = data.get("questions")
    valid: list[Question] = []
    if not isinstance(questions, list) or not questions:
        check.bad(loc.key_line("questions"), "", "no questions", "add `questions:` with a list of questions")
    else:
        qloc = loc.child("questions")
        seen: dict[str, int] = {}
        for index, raw in enumerate(questions):
            item_loc = qloc.child(index)
            question = _check_question(raw, item_loc, bank_id, catalog, check)
            qid = raw.get("id") if isinstance(raw, dict) else None
            if isinstance(qid, str):
                if qid in seen:
                    check.bad(item_loc.line, qid, f"duplicate question id (first at line {seen[qid]})",
                              "give this question a new unique id")
                    question = None
                else:
                    seen[qid] = item_loc.line
            if question is not None:
                valid.append(question)
    bank = Bank(id=bank_id, title=str(title or bank_id), chapter=chapter, questions=valid, file=name)
    return bank, check.issues


def load_banks(files: Iterable[Path], catalog: Catalog) -> BankSet:
    """Load several banks and check what only the whole set can show: ids unique across banks."""
    result = BankSet()
    first_seen: dict[str, Question] = {}
    bank_files: dict[str, str] = {}
    for path in files:
        bank, issues = load_bank_file(path, catalog)
        result.issues.extend(issues)
        if bank is None:
            continue
        if bank.id in bank_files:
            result.issues.append(Issue(bank.file, 1, "", f"bank id {bank.id!r} is also used by {bank_files[bank.id]}",
                                       "give every bank file its own id"))
            continue
        bank_files[bank.id] = bank.file
        kept = []
        for q in bank.questions:
            other = first_seen.get(q.id)
            if other is not None:
                result.issues.append(Issue(q.file, q.line, q.id,
                                           f"duplicate question id across banks (also {other.file}:{other.line})",
                                           "rename one of them; ids must be unique across all banks"))
                continue
            first_seen[q.id] = q
            kept.append(q)
        bank.questions = kept
        result.banks.append(bank)
    result.issues.sort()
    return result


def load_bank_dir(directory: Path | None, catalog: Catalog) -> BankSet:
    """All banks of a directory (default: the checkout's `quizzes/`)."""
    directory = directory or paths.default_bank_dir()
    if not directory.is_dir():
        raise LakeprepError(f"bank directory {directory} does not exist: pass an existing directory with --bank")
    return load_banks(paths.bank_files(directory), catalog)
