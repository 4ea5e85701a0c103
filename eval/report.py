"""Render an evaluation report dict into ``report.json``, ``report.md`` and a self-contained ``report.html``.

The report dict is built by :mod:`eval.run`; this module only presents it. The HTML page embeds its charts as
base64 PNG data URIs and uses an inline stylesheet, so it works offline. Every string taken from the report is
escaped with :func:`html.escape` in the HTML (answers may contain markup or canary strings); in the Markdown, table
cells have ``|`` escaped and newlines collapsed, and answers are shown in fenced code blocks.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

from eval.metrics import percentile

matplotlib.use("Agg")
import matplotlib.pyplot as plt

RETRIEVAL_METRICS: tuple[str, ...] = ("hit@1", "hit@5", "recall@5", "recall@10", "mrr@10", "ndcg@10")
NONE_MARK = "–"
_AT_K = re.compile(r"@\d+$")
_CHART_TITLES: dict[str, str] = {
    "categories": "Pass rate per category",
    "retrieval": "Retrieval metrics",
    "latency": "Latency per item (ours)",
}

_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; color: #222;
       max-width: 1100px; margin: 2rem auto; padding: 0 1rem; line-height: 1.45; }
h1 { margin-bottom: .2rem; }
.meta { color: #555; margin-top: 0; }
table { border-collapse: collapse; margin: .8rem 0 1.4rem; width: 100%; font-size: .92rem; }
th, td { border: 1px solid #ccc; padding: .3rem .5rem; text-align: left; vertical-align: top; }
th { background: #f2f2f2; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.def { color: #555; font-size: .85rem; }
.pass { color: #176b2c; font-weight: 600; }
.fail { color: #a31515; font-weight: 600; }
.verdict { font-size: 1.2rem; }
details { border: 1px solid #ddd; border-radius: 4px; padding: .4rem .7rem; margin: .5rem 0; }
details[open] { background: #fafafa; }
summary { cursor: pointer; }
pre { white-space: pre-wrap; word-wrap: break-word; background: #f6f6f6; padding: .5rem; border-radius: 4px; }
img.chart { display: block; max-width: 100%; margin: .5rem 0 1rem; }
""".strip()


# --- small helpers ----------------------------------------------------------------------------------------------


def _fmt(value: Any) -> str:
    """Format one value: floats with 3 decimals, ``None`` as a dash, booleans as yes/no."""
    if value is None:
        return NONE_MARK
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return NONE_MARK if math.isnan(value) else f"{value:.3f}"
    return str(value)


def _e(value: Any) -> str:
    """HTML-escape the string form of a value."""
    return html.escape(str(value))


def _md_cell(value: Any) -> str:
    """Make a value safe for one Markdown table cell: one line, ``|`` escaped."""
    return _one_line(value).replace("|", "\\|")


def _one_line(value: Any) -> str:
    """Collapse whitespace (including newlines) so a value stays on one line."""
    return " ".join(str(value).split())


def _md_row(cells: Sequence[Any]) -> str:
    return "| " + " | ".join(_md_cell(c) for c in cells) + " |"


def _md_table(header: Sequence[Any], rows: Sequence[Sequence[Any]]) -> list[str]:
    lines = [_md_row(header), "|" + "|".join("---" for _ in header) + "|"]
    lines.extend(_md_row(r) for r in rows)
    return lines


def _md_fence(text: str) -> list[str]:
    """A fenced code block long enough not to be closed by backticks inside ``text``."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return [fence + "text", text, fence]


def _pipelines(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in (report.get("pipelines") or {}).items() if isinstance(v, dict)}


def _label(key: str, pipeline: dict[str, Any]) -> str:
    return str(pipeline.get("label") or key)


def _aggregates(pipeline: dict[str, Any]) -> dict[str, Any]:
    agg = pipeline.get("aggregates")
    return agg if isinstance(agg, dict) else {}


def _metric_keys(pipelines: dict[str, dict[str, Any]]) -> list[str]:
    """Scalar aggregate keys (all but ``per_category``), in dict order, first pipeline first."""
    keys: dict[str, None] = {}
    for pipe in pipelines.values():
        for key, value in _aggregates(pipe).items():
            if key != "per_category" and not isinstance(value, dict | list):
                keys.setdefault(key, None)
    return list(keys)


def _categories(pipelines: dict[str, dict[str, Any]]) -> list[str]:
    cats: dict[str, None] = {}
    for pipe in pipelines.values():
        for cat in _aggregates(pipe).get("per_category") or {}:
            cats.setdefault(str(cat), None)
    return list(cats)


def _per_category(pipe: dict[str, Any], cat: str) -> dict[str, Any]:
    per = _aggregates(pipe).get("per_category") or {}
    row = per.get(cat)
    return row if isinstance(row, dict) else {}


_CHECK_HEADER = ["Check", "Kind", "Value", "Threshold", "Result"]
_CITATION_HEADER = ["n", "Source", "Section", "Quote"]


def _check_rows(checks: list[dict[str, Any]]) -> list[list[str]]:
    """The gate table's rows (formatted text); the result is ``pass`` or ``FAIL``."""
    return [
        [
            str(c.get("name")),
            str(c.get("kind")),
            _fmt(c.get("value")),
            _fmt(c.get("threshold")),
            "pass" if c.get("passed") else "FAIL",
        ]
        for c in checks
    ]


def _citation_rows(citations: list[dict[str, Any]]) -> list[list[str]]:
    """A failing item's citations table rows (formatted text): n, source, section, quote."""
    return [
        [_fmt(c.get("n")), str(c.get("source") or ""), str(c.get("section") or ""), str(c.get("quote") or "")]
        for c in citations
    ]


def _aggregate_table(
    pipelines: dict[str, dict[str, Any]], definitions: dict[str, str] | None
) -> tuple[list[str], list[list[str]]]:
    """Header and rows (formatted text) of the aggregates table: metric, one column per pipeline, definition."""
    header = ["Metric", *(_label(k, p) for k, p in pipelines.items()), "Definition"]
    rows = [
        [key, *(_fmt(_aggregates(p).get(key)) for p in pipelines.values()), definition(definitions, key) or ""]
        for key in _metric_keys(pipelines)
    ]
    return header, rows


def _category_table(pipelines: dict[str, dict[str, Any]], cats: list[str]) -> tuple[list[str], list[list[str]]]:
    """Header and rows (formatted text) of the per-category table: items, passed and pass rate per pipeline."""
    header = ["Category"]
    for k, p in pipelines.items():
        label = _label(k, p)
        header += [f"{label} items", f"{label} passed", f"{label} pass rate"]
    rows = [
        [
            cat,
            *(_fmt(_per_category(p, cat).get(f)) for p in pipelines.values() for f in ("items", "passed", "pass_rate")),
        ]
        for cat in cats
    ]
    return header, rows


def definition(definitions: dict[str, str] | None, key: str) -> str | None:
    """Look up a metric's definition, tolerating generalised keys.

    The lookup tries the exact key, then the key with a trailing ``@<n>`` generalised to ``@k`` (``hit@5`` ->
    ``hit@k``), then combined keys such as ``latency_p50_ms / p95_ms``, whose later parts replace the same-length
    tail of the first part (so it also defines ``latency_p95_ms``).

    Args:
        definitions: The report's ``definitions`` mapping (may be ``None``).
        key: The aggregate metric name.

    Returns:
        The definition text, or ``None`` when none matches.

    """
    if not definitions:
        return None
    candidates = [key, _AT_K.sub("@k", key)]
    for cand in candidates:
        if cand in definitions:
            return definitions[cand]
    for def_key, text in definitions.items():
        parts = [p.strip() for p in def_key.split("/")]
        if len(parts) < 2:
            continue
        head = parts[0]
        names = {head}
        for tail in parts[1:]:
            if tail and len(tail) <= len(head):
                names.add(head[: len(head) - len(tail)] + tail)
        if any(cand in names for cand in candidates):
            return text
    return None


def _failing_items(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [it for it in report.get("items") or [] if isinstance(it, dict) and it.get("passed") is False]


def _question(item: dict[str, Any]) -> str:
    turns = item.get("turns")
    if turns:
        return " → ".join(str(t) for t in turns)
    return str(item.get("question") or "")


def _meta_pairs(report: dict[str, Any]) -> list[tuple[str, str]]:
    meta = report.get("meta") or {}
    pairs = [
        ("Set", _fmt(meta.get("set"))),
        ("Items", _fmt(meta.get("items"))),
        ("Date", _fmt(meta.get("when"))),
        ("Mode", _fmt(meta.get("mode"))),
        ("Duration", NONE_MARK if meta.get("duration_s") is None else f"{_fmt(float(meta['duration_s']))} s"),
    ]
    if meta.get("model") is not None:
        pairs.append(("Model", _fmt(meta["model"])))
    if meta.get("threshold") is not None:
        pairs.append(("Threshold", _fmt(meta["threshold"])))
    return pairs


def _regression_counts(regression: dict[str, Any]) -> tuple[int, int, int, list[str]]:
    def count(value: Any) -> int:
        if isinstance(value, list | tuple | set | dict):
            return len(value)
        return int(value or 0)

    critical = [str(x) for x in regression.get("critical_regressions") or []]
    return (
        count(regression.get("regressed")),
        count(regression.get("improved")),
        count(regression.get("unchanged")),
        critical,
    )


# --- charts -----------------------------------------------------------------------------------------------------


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _num(value: Any) -> float:
    """A plottable number: ``None`` (or a non-number) becomes NaN, which draws no bar."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return math.nan


def _legend_below(ax: Any, columns: int) -> None:
    """Put the legend under the plot, so it never hides a bar."""
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=max(columns, 1), frameon=False)


def _grouped_bars(title: str, labels: list[str], series: list[tuple[str, list[float]]], *, horizontal: bool) -> str:
    """One chart of bars grouped by label, one bar per series (pipeline) in each group, as base64 PNG."""
    size = (7, max(3.5, 0.3 * len(labels) + 1.2)) if horizontal else (7, 3.5)
    fig, ax = plt.subplots(figsize=size, dpi=100)
    try:
        thickness = 0.8 / max(len(series), 1)
        for i, (name, values) in enumerate(series):
            pos = [j - 0.4 + thickness * (i + 0.5) for j in range(len(labels))]
            if horizontal:
                ax.barh(pos, values, height=thickness, label=name)
            else:
                ax.bar(pos, values, width=thickness, label=name)
        if horizontal:
            ax.set_yticks(range(len(labels)))
            ax.set_yticklabels(labels, fontsize=8)
            ax.invert_yaxis()
            ax.set_xlim(0, 1.05)
            ax.set_xlabel("pass rate")
            ax.set_ylabel("category")
        else:
            ax.set_xticks(range(len(labels)))
            ax.set_xticklabels(labels, fontsize=8)
            ax.set_ylim(0, 1.05)
            ax.set_xlabel("metric")
            ax.set_ylabel("score")
        ax.set_title(title)
        if series:
            _legend_below(ax, len(series))
        return _png(fig)
    finally:
        plt.close(fig)


def _categories_chart(report: dict[str, Any]) -> str:
    pipelines = _pipelines(report)
    cats = _categories(pipelines)
    series = [
        (_label(key, pipe), [_num(_per_category(pipe, c).get("pass_rate")) for c in cats])
        for key, pipe in pipelines.items()
    ]
    return _grouped_bars(_CHART_TITLES["categories"], cats, series, horizontal=True)


def _retrieval_chart(report: dict[str, Any]) -> str:
    pipelines = _pipelines(report)
    series = [
        (_label(key, pipe), [_num(_aggregates(pipe).get(m)) for m in RETRIEVAL_METRICS])
        for key, pipe in pipelines.items()
    ]
    return _grouped_bars(_CHART_TITLES["retrieval"], list(RETRIEVAL_METRICS), series, horizontal=False)


def _latency_chart(report: dict[str, Any]) -> str:
    latencies = [
        float(it["latency_ms"])
        for it in report.get("items") or []
        if isinstance(it, dict) and isinstance(it.get("latency_ms"), int | float)
    ]
    ours = _aggregates(_pipelines(report).get("ours") or {})
    p50 = ours.get("latency_p50_ms")
    p95 = ours.get("latency_p95_ms")
    if not isinstance(p50, int | float) and latencies:
        p50 = percentile(latencies, 0.5)
    if not isinstance(p95, int | float) and latencies:
        p95 = percentile(latencies, 0.95)
    fig, ax = plt.subplots(figsize=(7, 3.5), dpi=100)
    try:
        if latencies:
            ax.hist(latencies, bins=min(30, max(5, len(latencies) // 5)), color="#7a9cc6", label="items")
            if isinstance(p50, int | float):
                ax.axvline(float(p50), color="#176b2c", linestyle="--", label=f"p50 {float(p50):.1f} ms")
            if isinstance(p95, int | float):
                ax.axvline(float(p95), color="#a31515", linestyle="--", label=f"p95 {float(p95):.1f} ms")
            ax.legend(fontsize=8)
        else:
            ax.text(0.5, 0.5, "no latency data", ha="center", va="center", transform=ax.transAxes)
        ax.set_xlabel("latency (ms)")
        ax.set_ylabel("items")
        ax.set_title(_CHART_TITLES["latency"])
        return _png(fig)
    finally:
        plt.close(fig)


def charts(report: dict[str, Any]) -> dict[str, str]:
    """Draw the report's charts as PNG images.

    Args:
        report: The evaluation report dict.

    Returns:
        ``{"categories": ..., "retrieval": ..., "latency": ...}``, each a base64-encoded PNG without a
        ``data:`` prefix.

    """
    return {
        "categories": _categories_chart(report),
        "retrieval": _retrieval_chart(report),
        "latency": _latency_chart(report),
    }


# --- markdown ---------------------------------------------------------------------------------------------------


def _generalisation_table(report: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """Rows: each headline metric's test minus dev, and paraphrase stability per split."""
    rows = [[f"{k} (test - dev)", _fmt(v)] for k, v in (report.get("gap") or {}).items()]
    for split, st in (report.get("stability") or {}).items():
        rows.append([f"paraphrase clusters ({split})", _fmt(st.get("clusters"))])
        rows.append([f"  same decision ({split})", _fmt(st.get("same_decision"))])
        rows.append([f"  same decision and top document ({split})", _fmt(st.get("same_decision_and_document"))])
    return ["measure", "value"], rows


def render_markdown(report: dict[str, Any]) -> str:
    """Render the report as Markdown.

    Sections, in order: title and meta, gate verdict and checks, side-by-side aggregates with definitions,
    per-category pass rates, regression summary, and the failing items of our pipeline.

    Args:
        report: The evaluation report dict.

    Returns:
        The Markdown text (ends with a newline).

    """
    pipelines = _pipelines(report)
    definitions = report.get("definitions") or {}
    out: list[str] = ["# Evaluation report", ""]
    out.append(" · ".join(f"**{name}:** {_one_line(value)}" for name, value in _meta_pairs(report)))
    out.append("")

    gate = report.get("gate")
    out += ["## Gate", ""]
    if not isinstance(gate, dict):
        out += ["Gate: not run.", ""]
    else:
        out += [f"**Gate: {'PASSED' if gate.get('passed') else 'FAILED'}**", ""]
        checks = gate.get("checks") or []
        if checks:
            out += [*_md_table(_CHECK_HEADER, _check_rows(checks)), ""]
        failures = gate.get("failures") or []
        if failures:
            out += ["Failures:", ""]
            out += [f"- {_one_line(f)}" for f in failures]
            out.append("")

    out += ["## Aggregates", ""]
    out += [*_md_table(*_aggregate_table(pipelines, definitions)), ""]
    out += ["## Dev -> test", ""]
    out += [*_md_table(*_generalisation_table(report)), ""]

    out += ["## Per category", ""]
    cats = _categories(pipelines)
    if cats:
        out += [*_md_table(*_category_table(pipelines, cats)), ""]
    else:
        out += ["No per-category results.", ""]

    out += ["## Regression", ""]
    regression = gate.get("regression") if isinstance(gate, dict) else None
    if not isinstance(regression, dict):
        out += ["No baseline comparison.", ""]
    else:
        regressed, improved, unchanged, critical = _regression_counts(regression)
        if regression.get("baseline"):
            out += [f"Baseline: `{_one_line(regression['baseline'])}`", ""]
        out += [f"- Regressed: {regressed}", f"- Improved: {improved}", f"- Unchanged: {unchanged}"]
        out.append(f"- Critical regressions: {', '.join(critical) if critical else 'none'}")
        out.append("")

    failing = _failing_items(report)
    out += ["## Failing items", ""]
    if not failing:
        out += ["None.", ""]
    for item in failing:
        out += [f"### {_one_line(item.get('id'))} ({_one_line(item.get('category'))})", ""]
        out += [f"**Question:** {_one_line(_question(item))}", ""]
        reasons = item.get("reasons") or []
        out += ["**Reasons:**", ""]
        out += [f"- {_one_line(r)}" for r in reasons] or ["- (none given)"]
        out.append("")
        out += ["**Answer:**", "", *_md_fence(str(item.get("answer") or "")), ""]
        citations = item.get("citations") or []
        if citations:
            out += [*_md_table(_CITATION_HEADER, _citation_rows(citations)), ""]
        else:
            out += ["No citations.", ""]
    return "\n".join(out).rstrip("\n") + "\n"


# --- html -------------------------------------------------------------------------------------------------------


def _html_table(header: Sequence[Any], rows: Sequence[Sequence[tuple[str, str]]]) -> str:
    """A table; each cell is ``(already-escaped html, css class)``."""
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f'<td class="{cls}">{cell}</td>' if cls else f"<td>{cell}</td>" for cell, cls in row) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_html(report: dict[str, Any]) -> str:
    """Render the report as one self-contained HTML page with embedded charts.

    Every string from the report is escaped; charts are inline base64 PNGs and the stylesheet is inline, so the
    page needs no network.

    Args:
        report: The evaluation report dict.

    Returns:
        The HTML document.

    """
    pipelines = _pipelines(report)
    definitions = report.get("definitions") or {}
    parts: list[str] = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>Evaluation report</title>",
        f"<style>{_STYLE}</style>",
        "</head><body>",
        "<h1>Evaluation report</h1>",
        '<p class="meta">' + " · ".join(f"<strong>{_e(k)}:</strong> {_e(v)}" for k, v in _meta_pairs(report)) + "</p>",
    ]

    gate = report.get("gate")
    parts.append("<h2>Gate</h2>")
    if not isinstance(gate, dict):
        parts.append('<p class="verdict">Gate: not run.</p>')
    else:
        ok = bool(gate.get("passed"))
        cls = "pass" if ok else "fail"
        parts.append(f'<p class="verdict">Gate: <span class="{cls}">{"PASSED" if ok else "FAILED"}</span></p>')
        checks = gate.get("checks") or []
        if checks:
            classes = ["", "", "num", "num"]
            rows = [
                [*((_e(v), c) for v, c in zip(row[:4], classes, strict=True)), (row[4], row[4].lower())]
                for row in _check_rows(checks)
            ]
            parts.append(_html_table(_CHECK_HEADER, rows))
        failures = gate.get("failures") or []
        if failures:
            parts.append("<p>Failures:</p><ul>" + "".join(f"<li>{_e(f)}</li>" for f in failures) + "</ul>")

    parts.append("<h2>Aggregates</h2>")
    header, texts = _aggregate_table(pipelines, definitions)
    classes = ["", *(["num"] * len(pipelines)), "def"]
    parts.append(_html_table(header, [[(_e(v), c) for v, c in zip(row, classes, strict=True)] for row in texts]))

    parts.append("<h2>Dev → test</h2>")
    header, texts = _generalisation_table(report)
    parts.append(_html_table(header, [[(_e(v), "") for v in row] for row in texts]))

    parts.append("<h2>Charts</h2>")
    for name, png in charts(report).items():
        alt = _CHART_TITLES.get(name, name)
        parts.append(f'<img class="chart" alt="{_e(alt)}" src="data:image/png;base64,{png}">')

    parts.append("<h2>Per category</h2>")
    cats = _categories(pipelines)
    if cats:
        header, texts = _category_table(pipelines, cats)
        parts.append(_html_table(header, [[(_e(v), "num" if i else "") for i, v in enumerate(row)] for row in texts]))
    else:
        parts.append("<p>No per-category results.</p>")

    parts.append("<h2>Regression</h2>")
    regression = gate.get("regression") if isinstance(gate, dict) else None
    if not isinstance(regression, dict):
        parts.append("<p>No baseline comparison.</p>")
    else:
        regressed, improved, unchanged, critical = _regression_counts(regression)
        if regression.get("baseline"):
            parts.append(f"<p>Baseline: <code>{_e(regression['baseline'])}</code></p>")
        crit = ", ".join(_e(c) for c in critical) if critical else "none"
        parts.append(
            f"<ul><li>Regressed: {regressed}</li><li>Improved: {improved}</li><li>Unchanged: {unchanged}</li>"
            f"<li>Critical regressions: {crit}</li></ul>"
        )

    failing = _failing_items(report)
    parts.append(f"<h2>Failing items ({len(failing)})</h2>")
    if not failing:
        parts.append("<p>None.</p>")
    for item in failing:
        reasons = item.get("reasons") or []
        reason_html = "".join(f"<li>{_e(r)}</li>" for r in reasons) or "<li>(none given)</li>"
        citations = item.get("citations") or []
        if citations:
            cite_html = _html_table(
                _CITATION_HEADER,
                [[(_e(v), "num" if i == 0 else "") for i, v in enumerate(row)] for row in _citation_rows(citations)],
            )
        else:
            cite_html = "<p>No citations.</p>"
        parts.append(
            "<details>"
            f"<summary><strong>{_e(item.get('id'))}</strong> ({_e(item.get('category'))}): "
            f"{_e(_question(item))}</summary>"
            f"<p><strong>Question:</strong> {_e(_question(item))}</p>"
            f"<p><strong>Reasons:</strong></p><ul>{reason_html}</ul>"
            f"<p><strong>Answer:</strong></p><pre>{_e(item.get('answer') or '')}</pre>"
            f"<p><strong>Citations:</strong></p>{cite_html}"
            "</details>"
        )

    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


# --- files ------------------------------------------------------------------------------------------------------


def write_reports(report: dict[str, Any], out: Path) -> dict[str, Path]:
    """Write ``report.json``, ``report.md`` and ``report.html`` (with charts) into a folder.

    Args:
        report: The evaluation report dict.
        out: The output folder; created (with parents) if missing.

    Returns:
        ``{"json": path, "md": path, "html": path}``.

    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "report.json", "md": out / "report.md", "html": out / "report.html"}
    paths["json"].write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
    paths["md"].write_text(render_markdown(report), encoding="utf-8")
    paths["html"].write_text(render_html(report), encoding="utf-8")
    return paths
