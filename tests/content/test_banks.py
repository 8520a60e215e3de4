"""The real question banks in quizzes/: valid, covering every objective, big enough for two mock exams.

These tests read the content the chapter authors write; they fail (rather than skip) while a bank is
missing or too small, except the two-forms draw, which skips with the shortfall while the practice
pool cannot hold two forms yet.
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import yaml

from lakeprep.quiz import paths
from lakeprep.quiz.bank import load_banks
from lakeprep.quiz.catalog import load_catalog
from lakeprep.quiz.rubrics import load_rubrics
from lakeprep.quiz.sampling import draw_two_forms, section_quotas

ROOT = Path(__file__).resolve().parents[2]
QUIZZES = ROOT / "quizzes"
CHAPTERS = range(1, 7)


@pytest.fixture(scope="module")
def catalog():
    return load_catalog(QUIZZES)


@pytest.fixture(scope="module")
def banks(catalog):
    return load_banks(paths.bank_files(QUIZZES), catalog)


@pytest.fixture(scope="module")
def raw_questions():
    """Questions read with plain yaml.safe_load, independent of the engine's validator."""
    out = []
    for path in paths.bank_files(QUIZZES):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for q in data.get("questions") or []:
            out.append((path.name, data.get("chapter"), q))
    return out


def test_banks_and_rubrics_validate_with_zero_errors(banks, catalog):
    rubrics, rubric_issues = load_rubrics(paths.rubric_files(QUIZZES), catalog)
    problems = [str(i) for i in banks.issues + rubric_issues]
    assert problems == [], "\n".join(problems)


def test_every_question_names_known_objectives_and_an_existing_section(raw_questions, catalog):
    bad = []
    for name, _, q in raw_questions:
        objectives = q.get("objectives") or []
        unknown = [o for o in objectives if o not in catalog.objectives or catalog.objectives[o].retired]
        if not objectives or unknown:
            bad.append(f"{name} {q.get('id')}: objectives {objectives}")
        if q.get("section") not in catalog.book:
            bad.append(f"{name} {q.get('id')}: section {q.get('section')!r} not in book/sections.yml")
    assert bad == [], "\n".join(bad)


def test_every_objective_has_at_least_two_questions(raw_questions, catalog):
    counts = Counter(o for _, _, q in raw_questions for o in set(q.get("objectives") or []))
    thin = {o: counts.get(o, 0) for o, spec in catalog.objectives.items() if not spec.retired and counts.get(o, 0) < 2}
    assert thin == {}, f"objectives with fewer than 2 questions across all banks: {thin}"


def test_question_ids_are_unique_across_banks(raw_questions):
    ids = Counter(q.get("id") for _, _, q in raw_questions)
    assert [i for i, n in ids.items() if n > 1] == []


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_each_chapter_bank_has_at_least_12_questions(chapter, banks):
    bank = banks.bank(f"ch{chapter:02d}")
    assert bank is not None, f"quizzes/ch{chapter:02d}.yml is missing"
    assert bank.chapter == chapter
    assert len(bank.questions) >= 12, f"ch{chapter:02d} has {len(bank.questions)} valid questions; needs 12"


def test_practice_pool_has_at_least_120_questions(banks):
    pool_banks = [b.id for b in banks.banks if b.in_practice_pool]
    assert pool_banks, "no practice-*.yml pool banks (banks without `chapter`)"
    assert all(b.startswith("practice-") for b in pool_banks), pool_banks
    assert len(banks.pool) >= 120, f"the practice pool has {len(banks.pool)} questions; needs 120"


def test_pool_yields_two_disjoint_59_question_forms_at_the_weights(banks, catalog):
    n = catalog.exam_questions
    assert n == 59
    quotas = section_quotas(n, catalog.weights)
    assert quotas == {"MD": 26, "OPS": 26, "DEP": 7}
    have = Counter(catalog.section_of(q.objectives) for q in banks.pool)
    short = {s: f"{have.get(s, 0)}/{2 * k}" for s, k in quotas.items() if have.get(s, 0) < 2 * k}
    if short:
        pytest.skip(f"practice pool too small for two disjoint forms yet (have/need per section: {short})")
    first, second = draw_two_forms(banks.pool, catalog.weights, lambda q: catalog.section_of(q.objectives), n=n,
                                   seed=2026)
    assert len(first) == len(second) == 59
    assert not {q.id for q in first} & {q.id for q in second}
    for form in (first, second):
        assert Counter(catalog.section_of(q.objectives) for q in form) == quotas


def test_real_banks_export_cleanly(banks):
    import json
    import re

    from lakeprep.quiz.export import to_gift, to_jupyterquiz

    gift = to_gift(banks.banks)
    assert gift.count("\n::") == len(banks.questions)
    for block in gift.split("\n\n"):
        body = "\n".join(line for line in block.splitlines() if not line.startswith("//"))
        if "::" not in body:
            continue
        opens = len(re.findall(r"(?<!\\)(?:\\\\)*\{", body))
        closes = len(re.findall(r"(?<!\\)(?:\\\\)*\}", body))
        assert (opens, closes) == (1, 1), body[:200]
    quiz = json.loads(to_jupyterquiz(banks.banks))
    assert len(quiz) == len(banks.questions)
    for item in quiz:
        assert item["type"] in ("multiple_choice", "many_choice", "numeric")
        assert any(a.get("correct") for a in item["answers"])


def test_rubric_evidence_names_a_self_check_its_lab_records():
    """`evidence: labNN.<check>` must be a self-check id that lab NN writes, or the instructor's
    evidence never matches and the criterion silently needs a hand score."""
    import re

    checks = {}
    for lab in (ROOT / "solutions").glob("ch0[1-6]-lab.ipynb"):
        checks[int(lab.name[2:4])] = set(re.findall(r'self_check\(p, \\"([a-z_0-9]+)\\"', lab.read_text()))
    assert all(checks.get(n) for n in range(1, 7)), "the scan found no self-checks: has the call changed?"
    wrong = []
    for path in sorted((QUIZZES / "rubrics").glob("*.yml")):
        for criterion in yaml.safe_load(path.read_text())["criteria"]:
            evidence = criterion.get("evidence")
            if evidence is None:
                continue
            found = re.fullmatch(r"lab0([1-6])\.([a-z_0-9]+)", evidence)
            if not found or found.group(2) not in checks[int(found.group(1))]:
                wrong.append(f"{path.name}: {criterion['id']} -> {evidence}")
    assert not wrong, "rubric evidence naming no lab self-check: " + "; ".join(wrong)
