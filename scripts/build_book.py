"""`make book`: build the HTML book strictly from the last lab run.

1. Runs the labs first when there is no run yet (build/labs/run-summary.json).
2. Generates the exam map, the checkpoint pages and the lab pages (lakeprep.bookgen).
3. Builds with Jupyter Book 1 (-W: warnings fail; --keep-going: one run reports every problem;
   -n: unresolved references are warnings). The build executes nothing.
4. Checks every internal link and anchor of the HTML, including those the checkpoints render.
Figures go to build/book-build.json; the book to build/book/_build/html.
"""
from __future__ import annotations

import json
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
LABS_OUT = REPO / "build" / "labs"
OUT = REPO / "build" / "book"
HTML = OUT / "_build" / "html"


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids: set[str] = set()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        if tag == "a" and attrs.get("name"):
            self.ids.add(attrs["name"])
        if tag == "a" and attrs.get("href"):
            self.hrefs.append(attrs["href"])


def _parse(path: Path) -> _Links:
    parser = _Links()
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    return parser


def check_links(root: Path) -> list[str]:
    """Broken internal links: a missing page, or a fragment that no element on the page has."""
    pages = {p: _parse(p) for p in root.rglob("*.html")}
    # Checkpoint links are built in the browser from the JSON next to the quiz: read those too.
    quiz_urls = {}
    for page in pages:
        text = page.read_text(encoding="utf-8", errors="replace")
        for marker in text.split('class="lp-quiz-data">')[1:]:
            data = json.loads(marker.split("</script>")[0].replace("<\\/", "</"))
            quiz_urls[page] = [q["section_url"] for q in data["questions"]]
    broken = []
    for page, parsed in pages.items():
        for href in parsed.hrefs + quiz_urls.get(page, []):
            parts = urlsplit(href)
            if parts.scheme or href.startswith(("mailto:", "//", "javascript:")):
                continue
            target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
            if target.is_dir():
                target = target / "index.html"
            if target.suffix != ".html":
                if not target.exists():
                    broken.append(f"{page.relative_to(root)}: {href} (no such file)")
                continue
            if target not in pages:
                broken.append(f"{page.relative_to(root)}: {href} (no such page)")
            elif parts.fragment and unquote(parts.fragment) not in pages[target].ids:
                broken.append(f"{page.relative_to(root)}: {href} (no such anchor)")
    return sorted(set(broken))


def main() -> int:
    from lakeprep import bookgen

    if not (LABS_OUT / "run-summary.json").exists():
        print("No executed labs yet: running them first (lakeprep labs run) ...", flush=True)
        subprocess.run([sys.executable, "-m", "lakeprep", "labs", "run", "--out", str(LABS_OUT)],
                       cwd=REPO, check=False)
    started = time.monotonic()
    written = bookgen.generate(LABS_OUT)
    print(f"Generated: exam map, checkpoints for chapters {written['checkpoints']}, lab pages "
          f"(executed: {written['labs_executed']}, not run yet: {written['labs_pending']})", flush=True)
    jb = Path(sys.executable).parent / "jupyter-book"
    command = [str(jb), "build", str(REPO), "--path-output", str(OUT), "--builder", "html",
               "-W", "-n", "--keep-going"]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    build_seconds = time.monotonic() - started
    log = OUT / "build.log"
    OUT.mkdir(parents=True, exist_ok=True)
    log.write_text(result.stdout + result.stderr)
    warnings = [l for l in (result.stdout + result.stderr).splitlines()
                if "WARNING" in l or "ERROR" in l]
    if result.returncode != 0:
        print("\n".join(warnings[:60]) or result.stdout[-3000:] + result.stderr[-3000:], file=sys.stderr)
        print(f"Book build failed ({len(warnings)} warnings/errors); full log: {log}", file=sys.stderr)
        return 1
    broken = check_links(HTML)
    figures = {"seconds": round(build_seconds, 1), "pages": len(list(HTML.rglob("*.html"))),
               "broken_links": len(broken), "labs_executed": written["labs_executed"],
               "labs_pending": written["labs_pending"]}
    (REPO / "build" / "book-build.json").write_text(json.dumps(figures, indent=2))
    if broken:
        print("Broken internal links:\n  " + "\n  ".join(broken[:50]), file=sys.stderr)
        return 1
    print(f"Book built in {build_seconds:.0f} s ({figures['pages']} pages, links checked).")
    print(f"Open the book: file://{HTML / 'index.html'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
