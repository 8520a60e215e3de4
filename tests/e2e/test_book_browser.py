"""The rendered book in a real browser: headless Debian Chromium driven by Playwright.

Opens the built book from a loopback HTTP server: the intro, a chapter with a plot from an
executed lab, and a checkpoint page where it answers wrong, reads the feedback, answers right and
reads the explanation. No console errors allowed; screenshots land in build/test-output/book/.
"""
import functools
import http.server
import os
import shutil
import subprocess
import sys
import threading

import pytest

from tests.conftest import BUILD, REPO

HTML = BUILD / "book" / "_build" / "html"
SHOTS = BUILD / "test-output" / "book"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="session")
def built_book(lab_run):
    """Build the book from the executed labs of this test session (the e2e lab run)."""
    result = subprocess.run([sys.executable, "scripts/build_book.py"], cwd=REPO, capture_output=True,
                            text=True, timeout=1800)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    return HTML


@pytest.fixture(scope="session")
def server(built_book):
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(built_book))
    handler.log_message = lambda *a, **k: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        message = "Debian's chromium is not installed: run `sudo apt-get install chromium` (CI installs it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    pg.console_errors = []
    pg.on("console", lambda m: m.type == "error" and pg.console_errors.append(m.text))
    pg.on("pageerror", lambda e: pg.console_errors.append(str(e)))
    yield pg
    context.close()


def shot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=False)


@pytest.mark.e2e
def test_intro_page(page, server):
    page.goto(f"{server}/book/intro.html")
    assert "Welcome" in page.title() or page.locator("h1").first.inner_text()
    assert page.locator("nav").count() > 0
    assert page.get_by_text("make course").count() > 0
    shot(page, "intro")
    assert page.console_errors == []


@pytest.mark.e2e
def test_lab_page_shows_outputs_of_the_executed_run(page, server):
    page.goto(f"{server}/book/labs/ch01-lab.html")
    body = page.locator("main").inner_text()
    assert "as executed by" in body
    assert "✔" in body  # self-check output printed by the run
    images = page.locator("main img")
    if images.count():
        images.first.scroll_into_view_if_needed()
        assert images.first.evaluate("img => img.naturalWidth") > 0
    shot(page, "lab-ch01")
    assert page.console_errors == []


@pytest.mark.e2e
def test_checkpoint_gives_feedback_then_explanation(page, server):
    page.goto(f"{server}/book/ch02-checkpoint.html")
    quiz = page.locator(".lp-quiz")
    quiz.wait_for()
    card = quiz.locator(".lp-question").filter(has=page.locator("input[type=radio]")).first
    data = page.evaluate("""() => JSON.parse(document.querySelector('script.lp-quiz-data').textContent)""")
    qid = card.get_attribute("id")[2:]
    question = next(q for q in data["questions"] if q["id"] == qid)
    right = question["answer"][0]
    wrong = next(o["key"] for o in question["options"] if o["key"] not in question["answer"])

    card.locator(f"label[for='{qid}-{wrong}']").click()
    result = card.locator(".lp-result")
    assert "Not quite" in result.inner_text()
    revisit = result.locator(".lp-revisit a")
    assert revisit.get_attribute("href") == question["section_url"]
    shot(page, "checkpoint-wrong")

    card.locator(f"label[for='{qid}-{right}']").click()
    assert "Correct" in result.inner_text()
    explanation_words = [w for w in page.evaluate(
        "html => { const d = document.createElement('div'); d.innerHTML = html; return d.innerText; }",
        question["explanation"]).split() if len(w) > 3][:5]
    assert all(w in result.inner_text() for w in explanation_words)
    assert "1 right of 1 answered" in quiz.locator(".lp-score").inner_text()
    shot(page, "checkpoint-right")

    revisit_target = question["section_url"]
    page.goto(f"{server}/book/{revisit_target}")
    assert page.locator(f"#{question['section']}").count() == 1
    assert page.console_errors == []


@pytest.mark.e2e
def test_every_bank_section_resolves_to_an_anchor_in_the_built_book(built_book):
    import sys as _sys
    _sys.path.insert(0, str(REPO / "scripts"))
    from build_book import _parse
    from lakeprep.quiz.bank import load_bank_dir
    from lakeprep.quiz.catalog import load_catalog

    catalog = load_catalog()
    banks = load_bank_dir(None, catalog)
    ids_by_page = {}
    missing = []
    for question in banks.questions:
        page = built_book / f"{catalog.book[question.section].file}.html"
        if page not in ids_by_page:
            ids_by_page[page] = _parse(page).ids if page.exists() else set()
        if question.section not in ids_by_page[page]:
            missing.append(f"{question.id} -> {question.section}")
    assert len(banks.questions) > 200
    assert not missing, missing[:20]


@pytest.mark.e2e
def test_exam_map_coverage_matrix_is_generated(built_book):
    text = (built_book / "book" / "exam-map.html").read_text()
    for objective in ("MD.4.1", "OPS.3.2", "DEP.1.2"):
        assert objective in text
    assert "44%" in text and "12%" in text
