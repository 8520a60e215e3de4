"""Pages of the book that are generated, never typed: the exam map with its coverage matrix, one
interactive checkpoint page per chapter (from the chapter's bank and rubric), and the lab pages
(the notebooks executed by the last `lakeprep labs run`).

Generated files live beside the hand-written chapters in book/ and are gitignored.
"""
from __future__ import annotations

import json
import re
import shutil
from collections import Counter, defaultdict
from pathlib import Path

from lakeprep.config import REPO_ROOT

BOOK = REPO_ROOT / "book"
GENERATED_LABS = BOOK / "labs"
_REF = re.compile(r"\{ref\}`([a-z0-9-]+)`")


def _catalog_and_banks():
    from lakeprep.quiz.bank import load_bank_dir
    from lakeprep.quiz.catalog import load_catalog

    catalog = load_catalog()
    banks = load_bank_dir(None, catalog)
    if banks.issues:
        first = banks.issues[0]
        raise RuntimeError(f"the question banks have {len(banks.issues)} problem(s), e.g. {first}; "
                           "run `lakeprep bank validate`")
    return catalog, banks


def _markdown():
    from markdown_it import MarkdownIt
    return MarkdownIt("commonmark", {"html": False}).enable("table")


def section_url(catalog, anchor: str) -> str:
    """The page and fragment of a section anchor, relative to a page in book/."""
    section = catalog.book[anchor]
    return f"{Path(section.file).name}.html#{anchor}"


# -- lab steps: which lab heading links to which book section ------------------------------------

def lab_steps(solutions: Path = REPO_ROOT / "solutions") -> dict[str, list[str]]:
    """Section anchor → lab steps, read from `{ref}` links in each lab's markdown cells.

    A step is the nearest `##` heading above (or in) the cell that links the section.
    """
    steps: dict[str, list[str]] = defaultdict(list)
    for path in sorted(solutions.glob("ch*-lab.ipynb")):
        lab = int(path.name[2:4])
        heading = "introduction"
        for cell in json.loads(path.read_text())["cells"]:
            if cell["cell_type"] != "markdown":
                continue
            text = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            for line in text.splitlines():
                if line.startswith("## "):
                    heading = line[3:].strip()
            for anchor in _REF.findall(text):
                label = f"Lab {lab}: {heading}"
                if label not in steps[anchor]:
                    steps[anchor].append(label)
    return steps


# -- the exam map ---------------------------------------------------------------------------------

def exam_map_page(catalog, banks) -> str:
    steps = lab_steps()
    per_objective: dict[str, Counter] = defaultdict(Counter)
    checkpoint_count: Counter = Counter()
    pool_count: Counter = Counter()
    for bank in banks.banks:
        for q in bank.questions:
            for objective in q.objectives:
                per_objective[objective][q.section] += 1
                (pool_count if bank.chapter is None else checkpoint_count)[objective] += 1
    lines = [
        "(exam-map)=",
        "# The exam map",
        "",
        "The Databricks Certified Machine Learning Professional exam has "
        f"{catalog.exam_questions} scored questions in {catalog.exam_minutes} minutes. Its guide groups the objectives into three sections, "
        "weighted as below. The practice exams that `lakeprep quiz exam` draws follow the same "
        "weights.",
        "",
        f"| Section | Weight | About this many of {catalog.exam_questions} questions |",
        "|---|---|---|",
    ]
    for sid, title in catalog.section_titles.items():
        weight = catalog.weights[sid]
        lines.append(f"| {sid}: {title} | {weight:.0%} | {round(catalog.exam_questions * weight)} |")
    lines += [
        "",
        "## Coverage matrix",
        "",
        "Every row below is computed when the book is built, from `quizzes/objectives.yml`, the "
        "question banks and the section anchors of this book; the lab column comes from the links "
        "that each lab's text makes to the book. A row tells you where an objective is taught, "
        "where you practise it in a lab, and how many questions drill it.",
        "",
        "| Objective | What it asks | Taught in | Lab step | Checkpoint questions | Practice-pool questions |",
        "|---|---|---|---|---|---|",
    ]
    for oid, objective in catalog.objectives.items():
        sections = [s for s, _ in per_objective[oid].most_common()]
        taught = ", ".join(f"{{ref}}`{s}`" for s in sections[:3]) or "—"
        # The lab steps behind the section that teaches the objective most, two at most.
        lab = "; ".join(list(dict.fromkeys(step for s in sections for step in steps.get(s, [])))[:2])
        lines.append(f"| {oid} | {objective.title} | {taught} | {lab or '—'} | "
                     f"{checkpoint_count[oid]} | {pool_count[oid]} |")
    total_q = sum(len(b.questions) for b in banks.banks)
    lines += ["", f"In all: {len(catalog.objectives)} objectives, {total_q} questions in "
              f"{len(banks.banks)} banks.", ""]
    return "\n".join(lines)


# -- checkpoint pages -----------------------------------------------------------------------------

def _question_json(q, catalog, md) -> dict:
    section = catalog.book[q.section]
    data = {
        "id": q.id, "type": q.type, "stem": md.render(q.stem),
        "explanation": md.render(q.explanation),
        "section": q.section, "section_title": section.title,
        "section_url": section_url(catalog, q.section),
    }
    if q.type in ("single", "multiple"):
        data["options"] = [{"key": k, "html": md.renderInline(str(text))} for k, text in q.options.items()]
        data["answer"] = sorted(q.right_keys)
        data["scoring"] = q.scoring
    elif q.type == "truefalse":
        data["options"] = [{"key": "true", "html": "True"}, {"key": "false", "html": "False"}]
        data["answer"] = ["true" if q.answer else "false"]
    else:
        data["value"], data["tolerance"] = q.answer.value, q.answer.tolerance
    data["feedback"] = {str(k).lower(): md.renderInline(str(v)) for k, v in q.feedback.items()}
    return data


def checkpoint_page(chapter: int, catalog, banks, rubric: dict | None) -> str:
    md = _markdown()
    bank = next(b for b in banks.banks if b.chapter == chapter)
    questions = [_question_json(q, catalog, md) for q in bank.questions]
    payload = json.dumps({"bank": bank.id, "questions": questions}).replace("</", "<\\/")
    lines = [
        f"(ch{chapter:02d}-checkpoint)=",
        f"# Checkpoint {chapter}: {bank.title}",
        "",
        f"{len(questions)} questions on chapter {chapter}. Choose an answer to see at once whether it "
        "is right: a right answer shows why, a wrong one shows what it misses and the section to "
        "read again. Nothing is recorded; for a scored attempt with spaced review, run "
        f"`lakeprep quiz practice --chapter {chapter}` in a terminal.",
        "",
        "```{raw} html",
        f'<div class="lp-quiz" data-bank="{bank.id}"></div>',
        f'<script type="application/json" class="lp-quiz-data">{payload}</script>',
        "```",
        "",
    ]
    if rubric:
        lines += [f"## Rubric: {rubric['title']}", "",
                  f"Score your lab work on each criterion from 0 to 3. You pass at "
                  f"{float(rubric['pass_threshold']):.0%} of the weighted maximum. Criteria marked "
                  "*evidence* can be scored from the lab's own self-checks.", "",
                  "| Criterion | Weight | 0 | 1 | 2 | 3 | Section |", "|---|---|---|---|---|---|---|"]
        for c in rubric["criteria"]:
            levels = {int(k): v for k, v in c["levels"].items()}
            cells = [_cell(c["description"]) + (f" *(evidence: `{c['evidence']}`)*" if c.get("evidence") else ""),
                     str(c.get("weight", 1))] + [_cell(levels.get(i, "")) for i in range(4)] + [f"{{ref}}`{c['section']}`"]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ").strip()


# -- lab pages ------------------------------------------------------------------------------------

def lab_page(chapter: int, executed: Path | None, summary: dict | None, title: str) -> dict:
    """The executed notebook with a note on where it came from, or a stub when it is not run yet."""
    import nbformat

    download = f"{{download}}`the learner version <../../labs/ch{chapter:02d}-lab.ipynb>`"
    if executed is None:
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_markdown_cell(
            f"# Lab {chapter}: {title}\n\nThis lab has not been executed in this build yet. Run "
            f"`lakeprep labs run --chapters {chapter}` and rebuild the book with `make book`.")]
        return nb
    nb = nbformat.read(executed, as_version=4)
    entry = next((n for n in (summary or {}).get("notebooks", []) if n["notebook"] == executed.name), {})
    params = (summary or {}).get("parameters", {})
    note = (f"```{{note}}\nThis page is lab {chapter} as executed by `lakeprep labs run` for this build "
            f"(target {params.get('target', 'local')}, scale {params.get('scale', 'small')}, seed "
            f"{params.get('seed', '')}, {entry.get('seconds', 0):.0f} s). Every output below comes from "
            f"that run. Download {download} to work through it yourself.\n```")
    first_heading = next((i for i, c in enumerate(nb.cells)
                          if c.cell_type == "markdown" and c.source.lstrip().startswith("# ")), None)
    position = 0 if first_heading is None else first_heading + 1
    nb.cells.insert(position, nbformat.v4.new_markdown_cell(note))
    return nb


def generate(labs_out: Path) -> dict:
    """Write every generated page; return what was written (for the build log)."""
    import nbformat
    import yaml

    catalog, banks = _catalog_and_banks()
    (BOOK / "exam-map.md").write_text(exam_map_page(catalog, banks))
    rubrics = {}
    for path in sorted((REPO_ROOT / "quizzes" / "rubrics").glob("*.yml")):
        data = yaml.safe_load(path.read_text())
        rubrics[int(data["chapter"])] = data
    summary_path = labs_out / "run-summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else None
    ok = {n["notebook"] for n in (summary or {}).get("notebooks", []) if n["status"] == "ok"}
    shutil.rmtree(GENERATED_LABS, ignore_errors=True)
    GENERATED_LABS.mkdir(parents=True)
    written = {"checkpoints": [], "labs_executed": [], "labs_pending": []}
    chapters = sorted({b.chapter for b in banks.banks if b.chapter})
    for chapter in chapters:
        (BOOK / f"ch{chapter:02d}-checkpoint.md").write_text(
            checkpoint_page(chapter, catalog, banks, rubrics.get(chapter)))
        written["checkpoints"].append(chapter)
        name = f"ch{chapter:02d}-lab.ipynb"
        executed = labs_out / name if name in ok and (labs_out / name).exists() else None
        title = next(b.title for b in banks.banks if b.chapter == chapter)
        nbformat.write(lab_page(chapter, executed, summary, title), GENERATED_LABS / name)
        written["labs_executed" if executed else "labs_pending"].append(chapter)
    return written

