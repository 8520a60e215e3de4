"""GIFT (Moodle) and JupyterQuiz exports."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from lakeprep.quiz.bank import load_bank_dir
from lakeprep.quiz.catalog import load_catalog
from lakeprep.quiz.export import gift_escape, to_gift, to_jupyterquiz

ROOT = Path(__file__).resolve().parents[2]
BANKS = ROOT / "tests" / "fixtures" / "quiz" / "banks"


@pytest.fixture(scope="module")
def ch01():
    catalog = load_catalog(BANKS)
    return [load_bank_dir(BANKS, catalog).bank("ch01")]


def test_gift_escapes_every_special_character():
    assert gift_escape("a:b=c~d#e{f}g\\h\nnext") == "a\\:b\\=c\\~d\\#e\\{f\\}g\\\\h\\nnext"


def _unescaped(text: str, ch: str) -> int:
    return len(re.findall(r"(?<!\\)(?:\\\\)*" + re.escape(ch), text))


def test_gift_questions(ch01):
    gift = to_gift(ch01)
    assert "$CATEGORY: $course$/lakeprep/ch01" in gift
    assert "::ch01-s-01::[markdown]Which compute suits a **2 GB** training set best? {" in gift
    assert "\t=A single-node cluster\n" in gift
    assert "\t~A 20-node cluster#Twenty nodes add shuffle overhead for data this small.\n" in gift
    assert "\t####2 GB fits in one node's memory; a cluster only adds overhead.\n" in gift
    # stem braces escaped; all-or-nothing noted; +-50% weights for 2 right keys
    assert "a notebook? \\{choose two\\} {" in gift
    assert "// all-or-nothing in lakeprep" in gift
    assert "\t~%50%Pure functions\n" in gift and "\t~%-50%Widget definitions#Widgets are notebook UI.\n" in gift
    # partial with 3 right keys: Moodle's own 33.33333 grade
    assert "\t~%33.33333%timestamp_lookup_key\n" in gift
    assert "#The latest row may postdate the label\\: that is leakage." in gift
    assert "{FALSE#All-at-once is a blue-green cut-over, not a canary.#Correct.####A canary sends a small share first.}" in gift
    assert "{#0.0625:0.001####0.25 / 4 \\= 0.0625.}" in gift
    for block in gift.split("\n\n"):
        if block.startswith(("//", "$CATEGORY")) and "::" not in block:
            continue
        body = "\n".join(line for line in block.splitlines() if not line.startswith("//"))
        assert _unescaped(body, "{") == 1 and _unescaped(body, "}") == 1, body


def test_jupyterquiz(ch01):
    data = json.loads(to_jupyterquiz(ch01))
    assert [q["type"] for q in data] == ["multiple_choice", "many_choice", "many_choice", "multiple_choice", "numeric"]
    for q in data:
        assert set(q) == {"question", "type", "answers"}
    single = data[0]
    assert [a["correct"] for a in single["answers"]] == [False, True, False]
    assert single["answers"][0] == {"answer": "A 20-node cluster", "correct": False,
                                    "feedback": "Twenty nodes add shuffle overhead for data this small."}
    assert [a["correct"] for a in data[2]["answers"]] == [True, True, False, True]
    tf = data[3]
    assert [(a["answer"], a["correct"]) for a in tf["answers"]] == [("True", False), ("False", True)]
    numeric = data[4]["answers"]
    assert numeric[0] == {"type": "range", "range": [0.0615, 0.0635], "correct": True, "feedback": "0.25 / 4 = 0.0625."}
    assert numeric[1]["type"] == "default" and "feedback" in numeric[1]


def test_cli_export_to_directory_and_unknown_bank(tmp_path):
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "lakeprep", "bank", "export", "--format", "jupyterquiz",
                           "--dir", str(BANKS), "--out", str(tmp_path)], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ch01.json", "practice-a.json"]
    assert len(json.loads((tmp_path / "practice-a.json").read_text())) == 14
    done = subprocess.run([sys.executable, "-m", "lakeprep", "bank", "export", "--format", "gift", "--dir", str(BANKS),
                           "--bank", "nope"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 2 and "no bank 'nope'; banks: ch01, practice-a" in done.stderr
