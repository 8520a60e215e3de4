"""The instructor's HTML report with inline SVG bar charts (no plotting library).

Plain SVG keeps grading free of matplotlib/numpy (start-up and install size) and makes the report
one self-contained file that opens anywhere. Every piece of text that came from a file is escaped.
"""
from __future__ import annotations

import html
from typing import Sequence

from lakeprep.quiz.catalog import Catalog

COLORS = ("#3b6ea8", "#e07b39", "#5a9e4b", "#8c6bb1")


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def svg_bar_chart(
    categories: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    title: str,
    y_min: float = 0.0,
    y_max: float | None = None,
    y_label: str = "",
    height: int = 260,
) -> str:
    """A vertical (grouped) bar chart; negative values hang below the zero line; None is a gap."""
    values = [v for _, vs in series for v in vs if v is not None]
    top = y_max if y_max is not None else max(values + [1.0])
    bottom = min([y_min] + values)
    if top <= bottom:
        top = bottom + 1.0
    n_series = max(1, len(series))
    slot = max(14, 10 * n_series + 6)
    left, right, bottom_pad = 48, 12, 58
    top_pad = 44 if len(series) > 1 else 28  # room for the legend under the title
    plot_w = max(240, slot * len(categories))
    width = left + plot_w + right
    plot_h = height - top_pad - bottom_pad

    def y(v: float) -> float:
        return top_pad + plot_h * (top - v) / (top - bottom)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'aria-label="{_e(title)}" font-family="sans-serif" font-size="11">',
        f'<text x="{left}" y="16" font-size="13" font-weight="bold">{_e(title)}</text>',
    ]
    for tick in _ticks(bottom, top):
        parts.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" '
                     f'stroke="#ddd"/><text x="{left - 4}" y="{y(tick) + 4:.1f}" text-anchor="end">{tick:g}</text>')
    parts.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y(0):.1f}" y2="{y(0):.1f}" stroke="#333"/>')
    bar_w = (slot - 6) / n_series
    step = plot_w / max(1, len(categories))
    for i, category in enumerate(categories):
        x0 = left + i * step + (step - bar_w * n_series) / 2
        for j, (name, vs) in enumerate(series):
            v = vs[i]
            if v is None:
                continue
            y_top, y_bottom = sorted((y(v), y(0)))
            parts.append(
                f'<rect x="{x0 + j * bar_w:.1f}" y="{y_top:.1f}" width="{bar_w:.1f}" '
                f'height="{max(0.5, y_bottom - y_top):.1f}" fill="{COLORS[j % len(COLORS)]}">'
                f'<title>{_e(category)} · {_e(name)}: {v:.1f}</title></rect>')
        cx = left + i * step + step / 2
        parts.append(f'<text x="{cx:.1f}" y="{height - bottom_pad + 12}" text-anchor="end" '
                     f'transform="rotate(-45 {cx:.1f} {height - bottom_pad + 12})">{_e(category)}</text>')
    if y_label:
        parts.append(f'<text x="12" y="{top_pad + plot_h / 2:.0f}" transform="rotate(-90 12 {top_pad + plot_h / 2:.0f})" '
                     f'text-anchor="middle">{_e(y_label)}</text>')
    if len(series) > 1:
        for j, (name, _) in enumerate(series):
            lx = left + j * 140
            parts.append(f'<rect x="{lx}" y="24" width="10" height="10" fill="{COLORS[j % len(COLORS)]}"/>'
                         f'<text x="{lx + 14}" y="33">{_e(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _ticks(bottom: float, top: float) -> list[float]:
    span = top - bottom
    step = next(s for s in (1, 2, 5, 10, 20, 25, 50, 100, 200, 500, 1000, 10 ** 9) if span / s <= 6)
    start = int(bottom // step) * step
    ticks, t = [], start
    while t <= top + 1e-9:
        if t >= bottom - 1e-9:
            ticks.append(t)
        t += step
    return ticks


def score_histogram(percents: Sequence[float]) -> tuple[list[str], list[float]]:
    """Counts per 10-point band; 100% falls in the top band."""
    counts = [0] * 10
    for p in percents:
        counts[min(9, max(0, int(p // 10)))] += 1
    labels = [f"{10 * i}-{10 * i + 9}" for i in range(9)] + ["90-100"]
    return labels, [float(c) for c in counts]


def _flag(facility: float | None, discrimination: float | None) -> str:
    flags = []
    if facility is not None and facility < 20:
        flags.append("very hard")
    if facility is not None and facility > 90:
        flags.append("very easy")
    if discrimination is not None and discrimination < 0:
        flags.append("negative discrimination: check the key")
    elif discrimination is not None and discrimination < 20:
        flags.append("weak discrimination")
    return "; ".join(flags)


def html_report(run, catalog: Catalog) -> str:
    graded = run.graded
    percents = [100.0 * g.fraction for g in graded]
    mean = sum(percents) / len(percents) if percents else 0.0
    passed = sum(1 for g in graded if g.passed)
    body = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>lakeprep grading report</title>",
        "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
        "td:first-child,th:first-child{text-align:left}.chart{overflow-x:auto}</style></head><body>",
        "<h1>Grading report</h1>",
        f"<p>{len(graded)} submission(s) graded, {len(run.problems)} problem(s) in errors.csv. "
        f"Mean score {mean:.1f}%; {passed} passed at the {_e(catalog.pass_threshold_note)} threshold.</p>",
    ]
    labels, counts = score_histogram(percents)
    body.append("<h2>Score distribution</h2><div class='chart'>")
    body.append(svg_bar_chart(labels, [("learners", counts)], "Learners per score band (%)", y_label="learners"))
    body.append("</div>")

    by_test: dict[str, list] = {}
    for g in graded:
        by_test.setdefault(g.test_id, []).append(g)
    body.append("<h2>Tests</h2><table><tr><th>bank or exam</th><th>learners</th><th>mean %</th><th>passed</th></tr>")
    for test_id, group in sorted(by_test.items()):
        m = sum(100.0 * g.fraction for g in group) / len(group)
        body.append(f"<tr><td>{_e(test_id)}</td><td>{len(group)}</td><td>{m:.1f}</td>"
                    f"<td>{sum(1 for g in group if g.passed)}</td></tr>")
    body.append("</table>")

    body.append("<h2>Item analysis</h2><p>Facility index: mean score as % of the maximum. Discrimination index: "
                "100 × correlation between the item score and the rest-of-test score (Moodle's definition). "
                "Items below 20 discriminate weakly; a negative value usually means a wrong key.</p>")
    for test_id, stats in run.stats.items():
        items = list(stats.values())
        cats = [s.question_id for s in items]
        chart = svg_bar_chart(
            cats,
            [("facility %", [s.facility for s in items]), ("discrimination %", [s.discrimination for s in items])],
            f"{test_id}: facility vs discrimination", y_min=min(0.0, *[s.discrimination or 0.0 for s in items]),
            y_max=100.0, y_label="%", height=300)
        body.append(f"<h3>{_e(test_id)}</h3><div class='chart'>{chart}</div>")
        body.append("<table><tr><th>question</th><th>n</th><th>facility</th><th>discrimination</th><th>flag</th></tr>")
        for s in items:
            fac = "" if s.facility is None else f"{s.facility:.1f}"
            dis = "" if s.discrimination is None else f"{s.discrimination:.1f}"
            body.append(f"<tr><td>{_e(s.question_id)}</td><td>{s.n}</td><td>{fac}</td><td>{dis}</td>"
                        f"<td>{_e(_flag(s.facility, s.discrimination))}</td></tr>")
        body.append("</table>")
    if run.problems:
        body.append("<h2>Problems</h2><table><tr><th>file</th><th>field</th><th>problem</th><th>fix</th></tr>")
        for p in run.problems[:200]:
            body.append(f"<tr><td>{_e(p.file)}</td><td>{_e(p.field)}</td><td>{_e(p.problem)}</td><td>{_e(p.fix)}</td></tr>")
        body.append("</table>")
    body.append("</body></html>")
    return "\n".join(body)
