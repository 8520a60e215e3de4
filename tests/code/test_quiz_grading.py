"""Grading a folder of submissions: gradebook, item analysis, feedback, errors.csv, report.html."""
from __future__ import annotations

import csv
import json
import re
import shutil
import statistics
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from lakeprep.quiz.bank import load_bank_dir
from lakeprep.quiz.catalog import load_catalog
from lakeprep.quiz.grading import grade_files, submission_files, write_outputs
from lakeprep.quiz.paths import safe_slug

ROOT = Path(__file__).resolve().parents[2]
FIX = ROOT / "tests" / "fixtures" / "quiz"
BANKS = FIX / "banks"


def _rows(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Grade the fixture submissions plus hostile files made here; return (out dir, run)."""
    subs = tmp_path_factory.mktemp("subs")
    for path in (FIX / "submissions").iterdir():
        shutil.copy(path, subs / path.name)
    (subs / "huge.yml").write_text("learner: huge\nbank: ch01\nnote: " + "x" * 10_000_000 + "\n", encoding="utf-8")
    (subs / "latin1.yml").write_bytes("learner: Jos\xe9\nbank: ch01\n".encode("latin-1"))
    (subs / "deep.json").write_text("[" * 50_000 + "]" * 50_000, encoding="utf-8")
    (subs / "README.md").write_text("# not a submission\n", encoding="utf-8")
    (subs / "x<script>.txt").write_text("hostile file name\n", encoding="utf-8")
    laughs = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    for prev, name in zip("abcdefg", "bcdefgh"):
        laughs.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
    laughs += ["learner: laughs", "bank: ch01", "answers: {ch01-m-01: *h, ch01-s-01: b}"]
    (subs / "laughs.yml").write_text("\n".join(laughs) + "\n", encoding="utf-8")
    (subs / "formula.yml").write_text("learner: '=HYPERLINK(\"http://x\")'\nbank: ch01\nanswers: {}\n", encoding="utf-8")
    (subs / "exam.yml").write_text(
        "learner: eve\nbank: ml-professional-s1-f1\n"
        "questions: [pool-md11-01, pool-ops21-01, pool-dep11-01, pool-nope-99]\n"
        "answers: {pool-md11-01: a, pool-ops21-01: a, pool-dep11-01: c}\n", encoding="utf-8")
    (subs / "zz-alice-again.yml").write_text("learner: alice\nbank: ch01\nanswers: {}\n", encoding="utf-8")
    catalog = load_catalog(BANKS)
    banks = load_bank_dir(BANKS, catalog)
    run = grade_files(submission_files(subs), banks, catalog, pass_threshold=0.7)
    out = tmp_path_factory.mktemp("out")
    write_outputs(run, out, catalog)
    return out, run


def test_gradebook_rows(graded):
    out, _ = graded
    rows = {(r["learner"], r["bank"]): r for r in _rows(out / "gradebook.csv")}
    assert list(next(iter(rows.values()))) == ["learner", "bank", "score", "max", "percent", "passed",
                                               "MD_percent", "OPS_percent", "DEP_percent"]
    assert rows[("alice", "ch01")] | {} == {"learner": "alice", "bank": "ch01", "score": "5", "max": "5",
                                           "percent": "100", "passed": "yes", "MD_percent": "100",
                                           "OPS_percent": "100", "DEP_percent": "100"}
    bob = rows[("bob", "ch01")]
    assert (bob["score"], bob["percent"], bob["passed"], bob["MD_percent"], bob["OPS_percent"], bob["DEP_percent"]) \
        == ("1", "20", "no", "0", "50", "0")
    carol = rows[("carol", "ch01")]  # 1 + 0 (unreadable) + 2/3 (partial) + 1 + 1
    assert (carol["score"], carol["percent"], carol["passed"], carol["MD_percent"]) == ("3.667", "73.3", "yes", "83.3")
    assert rows[("../../etc/x", "ch01")]["score"] == "1"
    assert rows[("laughs", "ch01")]["score"] == "1"  # the alias bomb answer is unreadable, the rest graded
    assert ("'=HYPERLINK(\"http://x\")", "ch01") in rows  # spreadsheet formula neutralised
    eve = rows[("eve", "ml-professional-s1-f1")]  # MD answer a right, OPS answer a wrong, DEP c right
    assert (eve["score"], eve["max"], eve["MD_percent"], eve["OPS_percent"], eve["DEP_percent"]) == \
        ("2", "3", "100", "0", "100")
    assert len(rows) == 7


def test_errors_csv_lists_every_bad_file_and_the_batch_goes_on(graded):
    out, _ = graded
    errors = _rows(out / "errors.csv")
    assert list(errors[0]) == ["file", "field", "problem", "fix"]
    by_file: dict[str, list[dict]] = {}
    for row in errors:
        by_file.setdefault(row["file"], []).append(row)
    assert "1,000,000" in by_file["huge.yml"][0]["problem"]
    assert "not UTF-8" in by_file["latin1.yml"][0]["problem"]
    assert by_file["deep.json"][0]["problem"].startswith("cannot parse") or "JSON" in by_file["deep.json"][0]["problem"]
    assert "unsupported file type .md" in by_file["README.md"][0]["problem"]
    assert "not a mapping" in by_file["erin-list.yml"][0]["problem"]
    assert "invalid YAML at line 4" in by_file["frank-bad.yaml"][0]["problem"]
    assert by_file["dave-unknown-bank.yml"][0]["field"] == "bank"
    assert "ch01, practice-a" in by_file["dave-unknown-bank.yml"][0]["fix"]
    carol = {r["field"]: r for r in by_file["carol.yml"]}
    assert set(carol) == {"answers.ch01-m-01", "answers.ch01-zz-99"}
    assert "scored 0" in carol["answers.ch01-m-01"]["problem"]
    assert "not a question of ch01" in carol["answers.ch01-zz-99"]["problem"]
    assert by_file["laughs.yml"][0]["field"] == "answers.ch01-m-01"
    assert "pool-nope-99" in by_file["exam.yml"][0]["problem"]
    assert "second submission by 'alice'" in by_file["zz-alice-again.yml"][0]["problem"]
    assert set(by_file) == {"x<script>.txt", "huge.yml", "latin1.yml", "deep.json", "README.md", "erin-list.yml", "frank-bad.yaml",
                            "dave-unknown-bank.yml", "carol.yml", "laughs.yml", "exam.yml", "zz-alice-again.yml"}


def test_item_analysis(graded):
    out, run = graded
    rows = {(r["bank"], r["question_id"]): r for r in _rows(out / "item_analysis.csv")}
    s01 = rows[("ch01", "ch01-s-01")]
    # ch01 learners in file order: alice, bob, carol, laughs, formula, traversal
    xs = [1, 0, 1, 1, 0, 1]
    totals = [5, 1, 1 + 2 / 3 + 1 + 1, 1, 0, 1]
    expected = 100 * statistics.correlation(xs, [t - x for t, x in zip(totals, xs)])
    assert s01["n"] == "6" and s01["facility_index"] == "66.7"
    assert float(s01["discrimination_index"]) == pytest.approx(expected, abs=0.05)
    assert (s01["count_a"], s01["count_b"], s01["count_c"], s01["blank"]) == ("1", "4", "0", "1")
    assert s01["choices"] == "a=1 b=4 c=0"
    tf = rows[("ch01", "ch01-tf-01")]
    assert (tf["count_true"], tf["count_false"], tf["blank"]) == ("1", "2", "3")
    num = rows[("ch01", "ch01-n-01")]
    assert (num["count_correct"], num["count_incorrect"]) == ("3", "0")
    assert rows[("ml-professional-s1-f1", "pool-md11-01")]["n"] == "1"


def test_feedback_files_are_safe_and_useful(graded):
    out, run = graded
    names = sorted(p.name for p in (out / "feedback").iterdir())
    assert all(re.fullmatch(r"[a-z0-9_-]+--[a-z0-9_-]+\.md", n) for n in names), names
    assert f"{safe_slug('../../etc/x')}--ch01.md" in names
    assert not list(out.parent.glob("etc*")) and not (out / "etc").exists()
    carol = (out / "feedback" / "carol--ch01.md").read_text(encoding="utf-8")
    assert "Score: **3.67/5** (73.3%), passed" in carol
    assert "Your answer could not be read" in carol
    assert "Why c is wrong: The latest row may postdate the label" in carol
    assert "1. [A reproducible project layout](book/ch01.md#ch01-project-layout): 1 of 1 missed" in carol
    assert "2. [Point-in-time correctness and backfills](book/ch02.md#ch02-point-in-time)" in carol


def test_report_html_has_wellformed_svg_charts(graded):
    out, _ = graded
    html_text = (out / "report.html").read_text(encoding="utf-8")
    svgs = re.findall(r"<svg.*?</svg>", html_text, flags=re.S)
    assert len(svgs) == 3  # score distribution + one facility/discrimination chart per test (ch01, exam)
    for svg in svgs:
        ET.fromstring(svg)  # raises if not well-formed
    assert "Learners per score band" in svgs[0]
    assert html_text.count("<rect") > 10
    assert "<script" not in html_text and "x&lt;script&gt;.txt" in html_text  # file names are escaped
    assert "<h3>ch01</h3>" in html_text and "<h3>ml-professional-s1-f1</h3>" in html_text


def test_safe_slug():
    assert safe_slug("alice") == "alice"
    slug = safe_slug("../../etc/x")
    assert re.fullmatch(r"etc-x-[0-9a-f]{8}", slug)
    assert safe_slug("Alice") != safe_slug("alice")
    assert "/" not in safe_slug("/abs/path") and ".." not in safe_slug("..")
    assert re.fullmatch(r"id-[0-9a-f]{8}", safe_slug("..."))
    assert len(safe_slug("x" * 500)) < 64


def test_exam_submission_from_quiz_exam_grades(tmp_path):
    """The submission file `quiz exam` writes is gradable as is (blank answers as null)."""
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "s.json").write_text(json.dumps({
        "learner": "zoe", "bank": "ml-professional-s9-f2",
        "questions": ["pool-md11-01", "pool-ops21-01"],
        "answers": {"pool-md11-01": "a", "pool-ops21-01": None}}), encoding="utf-8")
    catalog = load_catalog(BANKS)
    run = grade_files(submission_files(subs), load_bank_dir(BANKS, catalog), catalog, 0.7)
    assert run.problems == []
    (g,) = run.graded
    assert (g.points, g.max, g.passed) == (1.0, 2, False)


def test_a_flood_of_unknown_ids_is_summarised(tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    answers = {f"junk-{i}": "a" for i in range(5000)} | {"ch01-s-01": "b"}
    (subs / "flood.json").write_text(json.dumps({"learner": "f", "bank": "ch01", "answers": answers}))
    catalog = load_catalog(BANKS)
    run = grade_files(submission_files(subs), load_bank_dir(BANKS, catalog), catalog, 0.7)
    assert len(run.problems) == 21 and "4980 more unknown question ids" in run.problems[-1].problem
    assert run.graded[0].points == 1.0
