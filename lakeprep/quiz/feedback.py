"""Per-learner feedback in Markdown: score, per-section scores, what went wrong, what to reread.

Learner-supplied text (the learner id) is escaped so that a hostile id cannot inject HTML or
Markdown structure into a file an instructor may publish.
"""
from __future__ import annotations

import html

from lakeprep.quiz import scoring
from lakeprep.quiz.catalog import Catalog
from lakeprep.quiz.console import describe_response
from lakeprep.quiz.revision import pts, revision_map


def _safe(text: str) -> str:
    return html.escape(" ".join(str(text).split()), quote=False).replace("|", "\\|").replace("`", "'")


def _question_notes(question, catalog: Catalog) -> tuple[str, list[str]]:
    """The parts of a missed question's note that do not depend on the learner."""
    return _safe(question.answer_text()), [
        f"- Why: {question.explanation}",
        f"- Reread: [{catalog.anchor_title(question.section)}]({catalog.anchor_link(question.section)})",
    ]


def learner_feedback(graded, catalog: Catalog, cache: dict | None = None) -> str:
    """The Markdown note for one graded submission; `cache` shares per-question text across learners."""
    cache = {} if cache is None else cache
    pct = 100.0 * graded.fraction
    verdict = "passed" if graded.passed else "not passed yet"
    lines = [
        f"# Feedback for {_safe(graded.submission.learner)}: {_safe(graded.title)}",
        "",
        f"Score: **{pts(graded.points)}/{graded.max}** ({pct:.1f}%), {verdict} "
        f"(threshold {graded.pass_threshold:.0%}, {catalog.pass_threshold_note}).",
        "",
        "| Exam section | Score |",
        "| --- | --- |",
    ]
    for section, (points, count) in graded.sections.items():
        if count:
            title = catalog.section_titles.get(section, section)
            lines.append(f"| {section} {title} | {pts(points)}/{count} ({100.0 * points / count:.0f}%) |")
    missed = [(q, p, r) for q, p, r in graded.items if p < 1.0]
    blank = sum(1 for q, _, r in graded.items if r is scoring.BLANK and q.id not in graded.unreadable)
    if blank:
        lines += ["", f"You left {blank} item(s) blank. Answer every item: a wrong answer costs nothing."]
    if missed:
        lines += ["", "## Questions to look at again", ""]
        for question, points, response in missed:
            if question.id not in cache:
                cache[question.id] = _question_notes(question, catalog)
            answer, notes = cache[question.id]
            lines.append(f"### {question.id} ({pts(points)} of 1 point)")
            lines.append("")
            if question.id in graded.unreadable:
                lines.append(f"Your answer could not be read ({_safe(graded.unreadable[question.id])}); "
                             f"the answer is **{answer}**.")
            else:
                lines.append(f"You answered **{_safe(describe_response(question, response))}**; "
                             f"the answer is **{answer}**.")
            for key, why in scoring.wrong_feedback(question, response):
                lines.append(f"- Why {key} is wrong: {why}")
            lines.extend(notes)
            lines.append("")
    entries = revision_map([(q, p) for q, p, _ in graded.items], catalog)
    lines += ["", "## Revision map", ""]
    if entries:
        lines.append("Book sections ranked by the points you lost there:")
        lines.append("")
        for rank, entry in enumerate(entries, 1):
            lines.append(f"{rank}. [{entry.title}]({entry.link}): {pts(entry.missed)} of {entry.asked} missed")
    else:
        lines.append("Nothing to revisit: every answer was right.")
    return "\n".join(lines) + "\n"
