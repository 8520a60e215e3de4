"""Exporting banks to Moodle (GIFT) and to the book's interactive widgets (JupyterQuiz JSON).

GIFT reserves `~ = # { } :` (and the escape character itself), so every piece of bank text is
backslash-escaped and newlines become `\\n`; stems are marked `[markdown]` because bank stems are
Markdown. Multiple-answer questions are exported with Moodle answer weights +100/k for each of the
k right options and -100/k for each wrong one: Moodle floors the sum at 0, which is exactly the
`partial` rule; GIFT cannot express all-or-nothing, so those questions carry a comment saying so.

JupyterQuiz (`jupyterquiz.display_quiz`) takes a list of questions, each
`{"question", "type": "multiple_choice" | "many_choice" | "numeric", "answers": [...]}`; choice
answers are `{"answer", "correct", "feedback"}`, numeric answers are `{"type": "value", "value"}`
or `{"type": "range", "range": [lo, hi]}` with `correct` and `feedback`, plus a `{"type":
"default", "feedback"}` catch-all.
"""
from __future__ import annotations

import json
from typing import Iterable

from lakeprep.quiz.model import Bank, Question

GIFT_SPECIAL = "~=#{}:"

# Moodle accepts only these answer fractions (qformat_default's grade options); 1/k for k <= 10 are among them.
_MOODLE_FRACTIONS = (1, 0.9, 0.8333333, 0.8, 0.75, 0.7, 0.6666667, 0.6, 0.5, 0.4, 0.3333333, 0.3, 0.25, 0.2,
                     0.1666667, 0.1428571, 0.125, 0.1111111, 0.1, 0.05)


def gift_escape(text: str) -> str:
    """Backslash-escape GIFT's control characters; keep newlines as `\\n` (GIFT's own escape)."""
    out = str(text).replace("\\", "\\\\")
    for ch in GIFT_SPECIAL:
        out = out.replace(ch, "\\" + ch)
    return out.replace("\r\n", "\n").replace("\n", "\\n")


def _percent(fraction: float) -> str:
    """A Moodle-acceptable percentage for 1/k, e.g. 33.33333 (5 decimals, as Moodle writes them)."""
    nearest = min(_MOODLE_FRACTIONS, key=lambda f: abs(f - abs(fraction)))
    text = f"{100 * nearest:.5f}".rstrip("0").rstrip(".")
    return ("-" if fraction < 0 else "") + text


def _gift_question(q: Question) -> str:
    head = f"::{gift_escape(q.id)}::[markdown]{gift_escape(q.stem)} {{"
    general = f"####{gift_escape(q.explanation)}"
    lines = [f"// {q.id} · objectives {', '.join(q.objectives)} · section {q.section} · {q.difficulty}"]
    if q.type == "single":
        body = []
        for key, text in q.options.items():
            if key == q.answer:
                body.append(f"\t={gift_escape(text)}")
            else:
                fb = q.feedback.get(key)
                body.append(f"\t~{gift_escape(text)}" + (f"#{gift_escape(fb)}" if fb else ""))
        lines += [head, *body, f"\t{general}", "}"]
    elif q.type == "multiple":
        if q.scoring == "all-or-nothing":
            lines.append("// all-or-nothing in lakeprep; GIFT cannot express it, so Moodle grades it with partial credit")
        k = len(q.answer)
        body = []
        for key, text in q.options.items():
            if key in q.answer:
                body.append(f"\t~%{_percent(1 / k)}%{gift_escape(text)}")
            else:
                fb = q.feedback.get(key)
                body.append(f"\t~%{_percent(-1 / k)}%{gift_escape(text)}" + (f"#{gift_escape(fb)}" if fb else ""))
        lines += [head, *body, f"\t{general}", "}"]
    elif q.type == "truefalse":
        wrong = q.feedback.get("false" if q.answer else "true", "")
        right = "TRUE" if q.answer else "FALSE"
        fb = f"#{gift_escape(wrong)}#{gift_escape('Correct.')}" if wrong else ""
        lines.append(f"{head}{right}{fb}{general}}}")
    else:
        lines.append(f"{head}#{q.answer.value:g}:{q.answer.tolerance:g}{general}}}")
    return "\n".join(lines)


def to_gift(banks: Iterable[Bank]) -> str:
    """GIFT text for Moodle's question import, one category per bank."""
    chunks = ["// Exported by lakeprep (`lakeprep bank export --format gift`). Import in Moodle: "
              "Question bank > Import > GIFT format."]
    for bank in banks:
        chunks.append(f"$CATEGORY: $course$/lakeprep/{bank.id}")
        chunks.append(f"// {bank.id}: {bank.title}")
        chunks.extend(_gift_question(q) for q in bank.questions)
    return "\n\n".join(chunks) + "\n"


def jupyterquiz_question(q: Question) -> dict:
    if q.type in ("single", "multiple"):
        answers = []
        for key, text in q.options.items():
            right = key in q.right_keys
            answers.append({
                "answer": text,
                "correct": right,
                "feedback": q.explanation if right else q.feedback.get(key, "Not this one."),
            })
        return {"question": q.stem, "type": "multiple_choice" if q.type == "single" else "many_choice",
                "answers": answers}
    if q.type == "truefalse":
        answers = []
        for label, value in (("True", True), ("False", False)):
            right = value == q.answer
            answers.append({"answer": label, "correct": right,
                            "feedback": q.explanation if right else q.feedback.get(label.lower(), q.explanation)})
        return {"question": q.stem, "type": "multiple_choice", "answers": answers}
    value, tolerance = q.answer.value, q.answer.tolerance
    exact = {"type": "value", "value": value} if tolerance == 0 else {"type": "range",
                                                                         "range": [round(value - tolerance, 10),
                                                                                   round(value + tolerance, 10)]}
    return {"question": q.stem, "type": "numeric", "answers": [
        {**exact, "correct": True, "feedback": q.explanation},
        {"type": "default", "feedback": f"Not quite. {q.explanation}"},
    ]}


def to_jupyterquiz(banks: Iterable[Bank]) -> str:
    """The JSON list `jupyterquiz.display_quiz` loads (from a file, URL or parsed dict)."""
    return json.dumps([jupyterquiz_question(q) for bank in banks for q in bank.questions], indent=2,
                      ensure_ascii=False) + "\n"


FORMATS = {"gift": (to_gift, ".gift"), "jupyterquiz": (to_jupyterquiz, ".json")}
