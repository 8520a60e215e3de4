"""Terminal input and output for the interactive commands (practice, exam, review).

Reads lines from any stream rather than calling `input()`, so the same code runs at a terminal
and with stdin piped (tests drive it with subprocess input); end of input counts as quitting,
never as a crash.
"""
from __future__ import annotations

import os
import re
import sys
import textwrap
from dataclasses import dataclass
from typing import Any, TextIO

from lakeprep.quiz import scoring
from lakeprep.quiz.model import Question

QUIT_WORDS = {"q", "quit", "exit"}


class Quit(Exception):
    """The learner typed `q` or input ended."""


@dataclass
class Console:
    stdin: TextIO = sys.stdin
    stdout: TextIO = sys.stdout
    echo: bool | None = None  # None: echo when stdin is not a terminal
    closed: bool = False  # the reader went away (`| head`): stop writing, treat as quitting

    def __post_init__(self) -> None:
        if self.echo is None:
            try:
                self.echo = not self.stdin.isatty()
            except (AttributeError, ValueError):
                self.echo = True

    def _write(self, text: str) -> None:
        if self.closed:
            return
        try:
            self.stdout.write(text)
            self.stdout.flush()
        except BrokenPipeError:
            self.closed = True
            if self.stdout is sys.stdout:  # keep Python's exit-time flush from complaining too
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())

    def say(self, text: str = "") -> None:
        self._write(text + "\n")

    def ask(self, prompt: str) -> str:
        """One line of input without its newline; raises Quit on `q`, at end of input or a closed output."""
        self._write(prompt)
        if self.closed:
            raise Quit()
        line = self.stdin.readline()
        if not line:
            self._write("\n")
            raise Quit()
        text = line.rstrip("\r\n")
        if self.echo:  # piped input is not shown by a terminal: echo it so transcripts read naturally
            self._write(text + "\n")
        if text.strip().lower() in QUIT_WORDS:
            raise Quit()
        return text


_BLOCK_START = re.compile(r"^(\s*([-*+]|\d+[.)])\s|\s*\||\s*#|\s*>)")
WIDTH = 88


def _wrap(text: str, indent: str = "", hanging: str | None = None) -> str:
    """Reflow Markdown for the terminal: paragraphs joined and wrapped, code blocks kept as written.

    Bank stems are often YAML block scalars with hard line breaks; joining the lines of a
    paragraph (as Markdown does) avoids ragged half-lines when they are wrapped again. List items,
    tables, headings and quotes start a new paragraph; `indent` leads the first line, `hanging`
    the others.
    """
    hanging = indent if hanging is None else hanging
    out: list[str] = []
    paragraph: list[str] = []
    state = {"first": True, "item": False}

    def flush() -> None:
        if paragraph:
            joined = " ".join(part.strip() for part in paragraph)
            lead = indent if state["first"] else hanging
            rest = hanging + ("  " if state["item"] else "")
            out.extend(textwrap.wrap(joined, WIDTH, initial_indent=lead, subsequent_indent=rest) or [lead])
            paragraph.clear()
        state["first"] = state["first"] and not out
        state["item"] = False

    fenced = False
    for line in str(text).splitlines() or [""]:
        if line.lstrip().startswith("```") or fenced or line.startswith(("    ", "\t")):
            flush()
            if line.lstrip().startswith("```"):
                fenced = not fenced
            out.append((indent if not out else hanging) + line)
        elif not line.strip():
            flush()
            out.append("")
        else:
            if _BLOCK_START.match(line):
                flush()
                state["item"] = True
            paragraph.append(line)
    flush()
    while out and not out[-1].strip():
        out.pop()
    return "\n".join(out)


def render(question: Question, number: int | None = None, total: int | None = None, header: str = "") -> str:
    """The question as the learner sees it: header, stem, options, what to type."""
    count = f"Question {number}/{total}" if number else "Question"
    top = f"{count} · {question.id} · {question.difficulty}"
    if header:
        top += f" · {header}"
    parts = ["", top, "-" * min(len(top), 88), _wrap(question.stem)]
    if question.type in ("single", "multiple"):
        parts.append("")
        for key, text in question.options.items():
            label = f"  {key}) "
            parts.append(_wrap(str(text), label, " " * len(label)))
    return "\n".join(parts)


def prompt_for(question: Question) -> str:
    keys = list(question.options)
    if question.type == "single":
        return f"Your answer ({keys[0]}-{keys[-1]}, q to quit): "
    if question.type == "multiple":
        return f"Choose all that apply, e.g. {','.join(keys[:2])} (q to quit): "
    if question.type == "truefalse":
        return "true or false (t/f, q to quit): "
    return "A number (q to quit): "


def read_answer(console: Console, question: Question, prompt: str | None = None, blank_ok: bool = True) -> Any:
    """Ask until the typed answer fits the question; return the normalised response (BLANK if empty)."""
    while True:
        text = console.ask(prompt or prompt_for(question))
        try:
            response = scoring.normalize(question, text)
        except scoring.AnswerTypeError as exc:
            console.say(f"  {exc.problem}: {exc.fix}.")
            continue
        if response is scoring.BLANK and not blank_ok:
            console.say("  Please type an answer.")
            continue
        return response


def describe_response(question: Question, response: Any) -> str:
    if response is scoring.BLANK:
        return "(blank)"
    if question.type == "multiple":
        return ",".join(sorted(response)) or "(none)"
    if question.type == "truefalse":
        return "true" if response else "false"
    if question.type == "numeric":
        return f"{response:g}"
    return str(response)


def feedback_text(question: Question, response: Any, points: float, catalog=None) -> str:
    """Right/wrong, the right answer, why the chosen options are wrong, the explanation, where to reread."""
    if points >= 1.0:
        lines = ["Correct."]
    elif points > 0:
        lines = [_wrap(f"Partly right ({points:.2g} of 1 point). The answer is: {question.answer_text()}")]
    else:
        lines = [_wrap(f"Not quite. The answer is: {question.answer_text()}")]
    for key, why in scoring.wrong_feedback(question, response):
        lines.append(_wrap(f"{key}: {why}", "  "))
    lines.append(_wrap(f"Why: {question.explanation}"))
    if points < 1.0 and catalog is not None:
        lines.append(f"Revisit: {catalog.anchor_title(question.section)} ({catalog.anchor_link(question.section)})")
    return "\n".join(lines)
