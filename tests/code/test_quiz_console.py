"""Terminal rendering and input handling shared by practice, exam and review."""
from __future__ import annotations

import io

import pytest

from lakeprep.quiz.console import Console, Quit, _wrap, read_answer, render
from lakeprep.quiz.model import Question


def test_block_scalar_stems_are_reflowed_but_code_is_kept():
    text = "One training run costs\ntens of dollars.\n\n```python\nx  =  1\n```\n- a list item\n- another"
    assert _wrap(text).splitlines() == [
        "One training run costs tens of dollars.", "", "```python", "x  =  1", "```", "- a list item", "- another"]


def test_long_options_wrap_under_their_text():
    q = Question(id="q", type="single", stem="s", answer="a", explanation="e", objectives=("MD.1.1",),
                 section="x", difficulty="easy", options={"a": "word " * 30, "b": "short"})
    lines = render(q).splitlines()
    a_lines = [l for l in lines if l.startswith("  a) ") or l.startswith("     word")]
    assert len(a_lines) >= 2 and all(len(l) <= 88 for l in a_lines)
    assert "  b) short" in lines


def test_quit_words_eof_and_closed_output():
    q = Question(id="q", type="truefalse", stem="s", answer=True, explanation="e", objectives=("MD.1.1",),
                 section="x", difficulty="easy")
    assert read_answer(Console(io.StringIO("maybe\nT\n"), io.StringIO(), echo=False), q) is True
    for typed in ("q\n", "QUIT\n", ""):
        with pytest.raises(Quit):
            read_answer(Console(io.StringIO(typed), io.StringIO(), echo=False), q)

    class Closed(io.StringIO):
        def write(self, text):
            raise BrokenPipeError

    console = Console(io.StringIO("t\n"), Closed(), echo=False)
    console.say("hello")  # swallowed, not raised
    with pytest.raises(Quit):
        console.ask("? ")
