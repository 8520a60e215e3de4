"""Rubrics for the labs and capstone: validation, and grading of assessment files.

A rubric scores open work (a lab, the capstone) on weighted criteria with levels 0..3. The score
is the weighted mean level as a fraction of the top level 3, compared with the rubric's own
`pass_threshold`. A criterion may name `evidence`, the id of a lab self-check: an assessment that
carries that check's outcome under `evidence:` needs no hand score for the criterion (a passed
check scores 3, a failed one 0, or the check may report a level 0..3 itself).
"""
from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lakeprep.errors import LakeprepError
from lakeprep.quiz import yamlsafe
from lakeprep.quiz.bank import ID_PATTERN, _Checker, _suggest
from lakeprep.quiz.catalog import Catalog
from lakeprep.quiz.grading import cell, fmt, submission_files, write_errors
from lakeprep.quiz.model import Issue
from lakeprep.quiz.submissions import MAX_BYTES, SUFFIXES, Problem

LEVELS = (0, 1, 2, 3)
TOP_LEVEL = 3
RUBRIC_FIELDS = ("id", "chapter", "title", "pass_threshold", "criteria", "description")
CRITERION_FIELDS = ("id", "description", "levels", "weight", "section", "evidence")


@dataclass(frozen=True)
class Criterion:
    id: str
    description: str
    levels: dict
    weight: float
    section: str
    evidence: str | None = None


@dataclass
class Rubric:
    id: str
    chapter: int | None
    title: str
    pass_threshold: float
    criteria: list[Criterion]
    file: str = ""

    @property
    def max_points(self) -> float:
        return TOP_LEVEL * sum(c.weight for c in self.criteria)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def load_rubric_file(path: Path, catalog: Catalog, display: str | None = None) -> tuple[Rubric | None, list[Issue]]:
    name = display or str(path)
    check = _Checker(name)
    try:
        data, loc = yamlsafe.load_located(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        check.bad(0, "", f"not UTF-8 (byte {exc.start})", "save the file as UTF-8")
        return None, check.issues
    except yamlsafe.YamlSyntaxError as exc:
        check.bad(exc.line, "", f"YAML syntax error: {exc}", "fix the indentation or quoting on that line")
        return None, check.issues
    if not isinstance(data, dict):
        check.bad(loc.line, "", "a rubric must be a mapping", "start with id, chapter, title, pass_threshold, criteria")
        return None, check.issues
    for key in data:
        if str(key) not in RUBRIC_FIELDS:
            check.bad(loc.key_line(str(key)), "", f"unknown rubric field `{key}`{_suggest(key, RUBRIC_FIELDS)}",
                      f"a rubric has only: {', '.join(RUBRIC_FIELDS)}")
    rid = data.get("id")
    if not isinstance(rid, str) or not ID_PATTERN.match(rid):
        check.bad(loc.key_line("id"), "", "missing or malformed rubric id", f"add `id: {path.stem}`")
        rid = path.stem
    if not isinstance(data.get("title"), str) or not data["title"].strip():
        check.bad(loc.key_line("title"), rid, "missing rubric title", "add `title:`")
    chapter = data.get("chapter")
    chapters = sorted({s.chapter for s in catalog.book.values()})
    if not isinstance(chapter, int) or isinstance(chapter, bool) or (chapters and chapter not in chapters):
        check.bad(loc.key_line("chapter"), rid, f"bad chapter {chapter!r}", f"set `chapter:` to one of {chapters}")
    threshold = data.get("pass_threshold")
    if not _number(threshold) or not 0 < threshold <= 1:
        check.bad(loc.key_line("pass_threshold"), rid, f"bad pass_threshold {threshold!r}",
                  "set `pass_threshold:` to a fraction of the maximum, e.g. 0.7 (not 70)")
    criteria_raw = data.get("criteria")
    criteria: list[Criterion] = []
    if not isinstance(criteria_raw, list) or not criteria_raw:
        check.bad(loc.key_line("criteria"), rid, "no criteria", "add `criteria:` with a list of criteria")
        criteria_raw = []
    cloc = loc.child("criteria")
    seen: set[str] = set()
    for index, raw in enumerate(criteria_raw):
        here = cloc.child(index)
        before = len(check.issues)
        if not isinstance(raw, dict):
            check.bad(here.line, rid, "a criterion must be a mapping", "give it id, description, levels, weight, section")
            continue
        cid = raw.get("id")
        label = f"{rid}/{cid}"
        for key in raw:
            if str(key) not in CRITERION_FIELDS:
                check.bad(here.key_line(str(key)), label, f"unknown criterion field `{key}`{_suggest(key, CRITERION_FIELDS)}",
                          f"a criterion has only: {', '.join(CRITERION_FIELDS)}")
        if not isinstance(cid, str) or not ID_PATTERN.match(cid):
            check.bad(here.key_line("id"), label, "missing or malformed criterion id", "add `id:` (letters, digits, -)")
        elif cid in seen:
            check.bad(here.key_line("id"), label, "duplicate criterion id", "give every criterion its own id")
        else:
            seen.add(cid)
        if not isinstance(raw.get("description"), str) or not raw["description"].strip():
            check.bad(here.key_line("description"), label, "missing description", "add `description:`")
        levels = raw.get("levels")
        if not isinstance(levels, dict) or sorted(str(k) for k in levels) != [str(lv) for lv in LEVELS]:
            check.bad(here.key_line("levels"), label, "levels must be exactly 0, 1, 2 and 3",
                      "write `levels: {0: \"...\", 1: \"...\", 2: \"...\", 3: \"...\"}`, a descriptor per level")
        elif not all(isinstance(v, str) and v.strip() for v in levels.values()):
            check.bad(here.key_line("levels"), label, "a level has no descriptor", "describe what each level looks like")
        weight = raw.get("weight")
        if not _number(weight) or weight <= 0:
            check.bad(here.key_line("weight"), label, f"bad weight {weight!r}", "set `weight:` to a positive number")
        section = raw.get("section")
        if section not in catalog.book:
            check.bad(here.key_line("section"), label, f"unknown section anchor {section!r}{_suggest(section, catalog.book)}",
                      "set `section:` to an anchor listed in book/sections.yml")
        evidence = raw.get("evidence")
        if evidence is not None and (not isinstance(evidence, str) or not evidence.strip()):
            check.bad(here.key_line("evidence"), label, "evidence must name a lab self-check",
                      "write `evidence: <self-check id>` or remove it")
        if len(check.issues) == before:
            criteria.append(Criterion(cid, raw["description"], {int(k): v for k, v in levels.items()},
                                      float(weight), section, evidence))
    if check.issues:
        return None, check.issues
    return Rubric(rid, chapter, data["title"], float(threshold), criteria, name), []


def load_rubrics(files, catalog: Catalog) -> tuple[dict[str, Rubric], list[Issue]]:
    rubrics: dict[str, Rubric] = {}
    issues: list[Issue] = []
    for path in files:
        rubric, found = load_rubric_file(path, catalog)
        issues.extend(found)
        if rubric is None:
            continue
        if rubric.id in rubrics:
            issues.append(Issue(rubric.file, 1, rubric.id, f"rubric id also used by {rubrics[rubric.id].file}",
                                "give every rubric its own id"))
            continue
        rubrics[rubric.id] = rubric
    return rubrics, sorted(issues)


# ------------------------------------------------------------------ grading


@dataclass
class RubricGrade:
    learner: str
    rubric: Rubric
    levels: dict[str, int]
    file: str
    from_evidence: set[str] = field(default_factory=set)

    @property
    def points(self) -> float:
        return sum(c.weight * self.levels[c.id] for c in self.rubric.criteria)

    @property
    def fraction(self) -> float:
        return self.points / self.rubric.max_points if self.rubric.max_points else 0.0

    @property
    def passed(self) -> bool:
        return self.fraction >= self.rubric.pass_threshold - 1e-12

    @property
    def revisit(self) -> list[str]:
        """Book sections of criteria scored below 2 ('developing' or worse)."""
        return [c.section for c in self.rubric.criteria if self.levels[c.id] < 2]


def _level(value: Any) -> int | None:
    if isinstance(value, bool):
        return TOP_LEVEL if value else 0
    if isinstance(value, int) and value in LEVELS:
        return value
    if isinstance(value, float) and value.is_integer() and int(value) in LEVELS:
        return int(value)
    return None


def grade_assessment(path: Path, name: str, rubrics: dict[str, Rubric]) -> tuple[RubricGrade | None, list[Problem]]:
    """One assessment file: learner, rubric, scores {criterion: level}, optional evidence."""
    problems: list[Problem] = []

    def fail(field_name: str, problem: str, fix: str):
        problems.append(Problem(name, field_name, problem, fix))
        return None, problems

    if path.suffix.lower() not in SUFFIXES:
        return fail("", f"unsupported file type {path.suffix or '(none)'}", "submit a .yml, .yaml or .json file")
    if path.stat().st_size > MAX_BYTES:
        return fail("", "file too large for an assessment", "keep only learner, rubric, scores and evidence")
    try:
        text = path.read_bytes().decode("utf-8-sig")
        data = json.loads(text) if path.suffix.lower() == ".json" else yamlsafe.load(text)
    except UnicodeDecodeError:
        return fail("", "not UTF-8 text", "save the file as UTF-8")
    except Exception as exc:  # any parse failure of an untrusted file is a row, not a crash
        return fail("", f"cannot parse the file ({type(exc).__name__}: {str(exc)[:120]})", "fix the syntax")
    if not isinstance(data, dict):
        return fail("", f"the file holds a {type(data).__name__}, not a mapping",
                    "write a mapping with learner, rubric and scores")
    learner = data.get("learner")
    if isinstance(learner, bool) or not isinstance(learner, (str, int)) or not str(learner).strip():
        return fail("learner", "missing learner id", "add `learner:`")
    learner = " ".join(str(learner).split())[:128]
    rubric = rubrics.get(str(data.get("rubric")))
    if rubric is None:
        return fail("rubric", f"unknown rubric {data.get('rubric')!r}; not graded",
                    f"set `rubric:` to one of: {', '.join(rubrics) or '(no rubrics found)'}")
    scores = data.get("scores") or {}
    evidence = data.get("evidence") or {}
    if not isinstance(scores, dict):
        return fail("scores", "scores must be a mapping of criterion id to level", "write `scores: {criterion: 0..3}`")
    if not isinstance(evidence, dict):
        return fail("evidence", "evidence must be a mapping of self-check id to outcome",
                    "write `evidence: {check-id: true}` or remove it")
    known = {c.id for c in rubric.criteria}
    for key in scores:
        if str(key) not in known:
            problems.append(Problem(name, f"scores.{key}", f"{key!r} is not a criterion of {rubric.id}; ignored",
                                    f"use the criteria: {', '.join(sorted(known))}"))
    levels: dict[str, int] = {}
    auto: set[str] = set()
    for criterion in rubric.criteria:
        raw = scores.get(criterion.id)
        if raw is None and criterion.evidence and criterion.evidence in evidence:
            raw = evidence[criterion.evidence]
            auto.add(criterion.id)
        level = _level(raw)
        if raw is None:
            return fail(f"scores.{criterion.id}", f"criterion {criterion.id} has no score; not graded",
                        "score every criterion 0..3" + (f" or record self-check {criterion.evidence} under evidence"
                                                         if criterion.evidence else ""))
        if level is None:
            return fail(f"scores.{criterion.id}", f"level {raw!r} is not 0, 1, 2 or 3; not graded",
                        "use a whole level from 0 to 3")
        levels[criterion.id] = level
    return RubricGrade(learner, rubric, levels, name, auto), problems


def grade_rubric_dir(directory: Path, out_dir: Path, rubrics: dict[str, Rubric]) -> tuple[list[RubricGrade], list[Problem]]:
    if not rubrics:
        raise LakeprepError("no valid rubrics found: check quizzes/rubrics/ with `lakeprep bank validate`")
    grades: list[RubricGrade] = []
    problems: list[Problem] = []
    seen: dict[tuple[str, str], str] = {}
    for path, name in submission_files(directory, exclude=out_dir):
        try:
            grade, found = grade_assessment(path, name, rubrics)
        except Exception as exc:  # one hostile file never stops the batch
            grade, found = None, [Problem(name, "", f"unexpected error ({type(exc).__name__})", "check the file by hand")]
        problems.extend(found)
        if grade is None:
            continue
        key = (grade.learner, grade.rubric.id)
        if key in seen:
            problems.append(Problem(name, "learner", f"second assessment of {grade.learner!r} on {grade.rubric.id}; "
                                    f"not graded ({seen[key]} was)", "remove one of the two files"))
            continue
        seen[key] = name
        grades.append(grade)
    out_dir.mkdir(parents=True, exist_ok=True)
    with (out_dir / "rubric_grades.csv").open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(["learner", "rubric", "score", "max", "fraction", "percent", "passed", "pass_threshold", "revisit"])
        for g in sorted(grades, key=lambda g: (g.rubric.id, g.learner)):
            out.writerow([cell(g.learner), g.rubric.id, fmt(g.points, 3), fmt(g.rubric.max_points, 3),
                          fmt(g.fraction, 4), fmt(100 * g.fraction, 1), "yes" if g.passed else "no",
                          fmt(g.rubric.pass_threshold, 3), " ".join(g.revisit)])
    with (out_dir / "rubric_scores.csv").open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(["learner", "rubric", "criterion", "level", "weight", "section", "source"])
        for g in sorted(grades, key=lambda g: (g.rubric.id, g.learner)):
            for c in g.rubric.criteria:
                out.writerow([cell(g.learner), g.rubric.id, c.id, g.levels[c.id], fmt(c.weight, 3), c.section,
                              f"evidence:{c.evidence}" if c.id in g.from_evidence else "assessor"])
    write_errors(problems, out_dir / "errors.csv")
    return grades, problems
