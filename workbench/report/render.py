"""The stakeholder report of a run: each executed notebook as HTML plus a landing page, readable offline.

:func:`render_run` writes ``<run>/report/``: ``index.html`` (summary in plain words from ``metrics.json``, key
figures inline, result tables, links to every rendered notebook, the manifest: params, data fingerprint,
versions, commit) and ``<notebook>.html`` for each executed notebook (nbconvert's lab template; code hidden
unless ``show_code``). Nothing is loaded from the network: the template's require.js, MathJax, Mermaid and
widget ``<script>`` tags are left out, CSS is inlined, images are data URIs or relative links into the run.

``make report`` runs ``python -m workbench.report.render outputs/<name>``; the runner calls :func:`render_run`
at the end of every run.
"""
from __future__ import annotations

import argparse
import base64
import html
import json
import logging
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlparse

import nbformat
import pandas as pd
import yaml

from workbench.report import summary as report_summary

log = logging.getLogger(__name__)

REPORT_DIR = "report"
INDEX = "index.html"
#: figures shown inline on the landing page: notebook 07's, else the first of each notebook (at most this many)
MAX_KEY_FIGURES = 8

_OFFLINE_TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
"""

_CSS = """
body{font-family:-apple-system,Segoe UI,Roboto,Helvetica,Arial,sans-serif;margin:0 auto;max-width:1100px;
padding:1.5em 2em;color:#222;line-height:1.45}
h1{margin-bottom:.2em} h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.6em}
.meta{color:#666;font-size:.92em} table{border-collapse:collapse;margin:.6em 0;font-size:.92em}
th,td{border:1px solid #ddd;padding:.25em .6em;text-align:left} th{background:#f5f5f5}
td.num{text-align:right;font-variant-numeric:tabular-nums}
figure{margin:1em 0} figure img{max-width:100%;border:1px solid #eee} figcaption{color:#666;font-size:.9em}
pre{background:#f7f7f7;padding:.8em;overflow-x:auto;font-size:.85em} .no{color:#999}
ul.summary li{margin:.35em 0}
"""


# ---- notebooks -----------------------------------------------------------------------------------
def _exporter(show_code: bool):
    """An nbconvert HTMLExporter on the lab template without any network script."""
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    exp = HTMLExporter(template_name="lab", extra_loaders=[DictLoader({"offline.html.j2": _OFFLINE_TEMPLATE})],
                       template_file="offline.html.j2")
    exp.exclude_input = not show_code
    exp.exclude_input_prompt = not show_code
    exp.exclude_output_prompt = not show_code
    exp.embed_images = True
    return exp


def _stakeholder_copy(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The notebook without log output (stderr streams) and without the parameters cells' outputs."""
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        tags = set(cell.get("metadata", {}).get("tags", []))
        if tags & {"parameters", "injected-parameters"}:
            cell.outputs = []
            continue
        cell.outputs = [o for o in cell.get("outputs", []) if not (o.get("output_type") == "stream"
                                                                   and o.get("name") == "stderr")]
    nb.metadata.pop("widgets", None)
    return nb


def render_notebook(nb_path: Path, out_path: Path, show_code: bool = False) -> Path:
    """Render one executed notebook to a self-contained HTML file and return its path."""
    nb = nbformat.read(str(nb_path), as_version=4)
    if not show_code:
        nb = _stakeholder_copy(nb)
    body, _ = _exporter(show_code).from_notebook_node(nb, resources={"metadata": {"name": nb_path.stem}})
    body = _strip_remote_scripts(body).replace(
        "<main>", f"<main>\n<p style='font-family:sans-serif'><a href='{INDEX}'>&larr; run report</a></p>", 1)
    out_path.write_text(body, encoding="utf-8")
    return out_path


def _strip_remote_scripts(text: str) -> str:
    """Remove any ``<script src="http...">`` / ``<link href="http...">`` a template may still emit."""
    text = re.sub(r"<script[^>]+src=\"(?:https?:)?//[^\"]*\"[^>]*>\s*</script>", "", text, flags=re.I)
    return re.sub(r"<link[^>]+href=\"(?:https?:)?//[^\"]*\"[^>]*>", "", text, flags=re.I)


# ---- landing page ---------------------------------------------------------------------------------
def _read_json(path: Path) -> dict:
    return json.loads(path.read_text()) if path.is_file() else {}


def _run_params(run_dir: Path, manifest: dict) -> dict:
    if (run_dir / "params.yaml").is_file():
        return yaml.safe_load((run_dir / "params.yaml").read_text()) or {}
    return manifest.get("params") or {}


def _md(text: str) -> str:
    from nbconvert.filters.markdown import markdown2html

    return markdown2html(text)


def _table(df: pd.DataFrame, index: bool = True, digits: int = 4) -> str:
    if df is None or len(df) == 0:
        return "<p class='no'>nothing recorded</p>"
    d = df.reset_index() if index else df
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in d.columns)
    rows = []
    for rec in d.itertuples(index=False):
        cells = []
        for v in rec:
            num = isinstance(v, (int, float)) and not isinstance(v, bool)
            txt = report_summary.fmt(v, digits) if num else ("" if v is None else str(v))
            cells.append(f"<td class='num'>{html.escape(txt)}</td>" if num else f"<td>{html.escape(txt)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def key_figures(figures: list[Path]) -> list[Path]:
    """The figures to show inline: notebook 07's if any, else the first figure each notebook saved."""
    figures = sorted(figures, key=lambda f: (f.name[:2], f.stat().st_mtime_ns, f.name))  # per notebook, saved order
    own = [f for f in figures if f.name.startswith("07_")]
    if own:
        return own[:MAX_KEY_FIGURES]
    first: dict[str, Path] = {}
    for f in figures:
        first.setdefault(f.name[:2], f)
    return list(first.values())[:MAX_KEY_FIGURES]


def _data_uri(png: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(png.read_bytes()).decode("ascii")


def _title(stem: str) -> str:
    nb, _, rest = stem.partition("_")
    return f"{nb} · {rest.replace('_', ' ')}" if rest else stem


def index_html(run_dir: Path, pages: list[Path], show_code: bool = False, failed: dict[str, str] | None = None) -> str:
    """The landing page of a run's report (HTML text); ``pages`` are the rendered notebooks in report/,
    ``failed`` the notebooks that could not be rendered (name -> error)."""
    run_dir = Path(run_dir)
    metrics = _read_json(run_dir / "metrics.json")
    manifest = _read_json(run_dir / "manifest.json")
    params = _run_params(run_dir, manifest)
    name = params.get("name") or run_dir.name
    fig_dir = run_dir / "figures"
    figures = sorted(fig_dir.glob("*.png")) if fig_dir.is_dir() else []
    durations = {Path(r.get("notebook", "")).stem: r.get("duration_s") for r in manifest.get("notebooks", [])}
    ended_early = {Path(r.get("notebook", "")).stem: r["skipped"] for r in manifest.get("notebooks", [])
                   if r.get("skipped")}
    source = report_summary.get(metrics, "data.source", (params.get("data") or {}).get("source", "?"))
    fingerprint = manifest.get("data_fingerprint") or report_summary.get(metrics, "data.fingerprint") or "n/a"

    out = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Run {html.escape(str(name))}"
           f"</title><style>{_CSS}</style></head><body>",
           f"<h1>Workbench run: {html.escape(str(name))}</h1>",
           f"<p class='meta'>data: {html.escape(str(source))}"
           f" · fingerprint {html.escape(str(fingerprint))}"
           f" · commit {html.escape(str(manifest.get('git_commit') or 'n/a')[:12])}"
           f" · started {html.escape(str(manifest.get('started') or 'n/a'))}"
           f" · code {'shown' if show_code else 'hidden'}</p>",
           "<h2>Leaderboard</h2>", _md(report_summary.verdict_paragraph(metrics))]
    board = report_summary.leaderboard_table(metrics)
    if len(board):
        out.append(_table(board))
    out += ["<h2>Summary</h2>", "<ul class='summary'>"]
    out += [f"<li>{_md(s)}</li>" for s in report_summary.executive_summary(metrics)]
    out.append("</ul>")

    out.append("<h2>Key figures</h2>")
    keys = key_figures(figures)
    if not keys:
        out.append("<p class='no'>this run saved no figures</p>")
    for f in keys:
        out.append(f"<figure><img src='{_data_uri(f)}' alt='{html.escape(f.stem)}'>"
                   f"<figcaption>{html.escape(f.stem)}</figcaption></figure>")

    out.append("<h2>Notebooks</h2>")
    if pages:
        out.append("<table><thead><tr><th>notebook</th><th>run time (s)</th><th>note</th></tr></thead><tbody>")
        for p in pages:
            d = durations.get(p.stem)
            note = f"ended early: {ended_early[p.stem]}" if p.stem in ended_early else ""
            out.append(f"<tr><td><a href='{html.escape(p.name)}'>{html.escape(_title(p.stem))}</a></td>"
                       f"<td class='num'>{'' if d is None else report_summary.fmt(d, 1)}</td><td>{html.escape(note)}</td></tr>")
        out.append("</tbody></table>")
    else:
        out.append("<p class='no'>no executed notebook in this run folder</p>")
    for name, err in sorted((failed or {}).items()):
        out.append(f"<p class='no'>{html.escape(name)} could not be rendered: {html.escape(err)}</p>")

    out.append("<h2>Results</h2><h3>Stages</h3>")
    out.append(_table(report_summary.stage_status(metrics), index=False))
    for title, df in (("Ranking models", report_summary.model_table(metrics)), ("Rating models", report_summary.rating_table(metrics)),
                      ("Hybrid", report_summary.hybrid_table(metrics).set_index("model")),
                      ("Business rules: what each costs and buys", report_summary.rules_table(metrics).set_index("rule")
                       if len(report_summary.rules_table(metrics)) else pd.DataFrame()),
                      ("Truth recovery (synthetic data)", report_summary.truth_recovery(metrics).set_index("check"))):
        if len(df):
            out.append(f"<h3>{html.escape(title)}</h3>" + _table(df))

    out.append("<h2>Manifest</h2>")
    versions = pd.DataFrame(sorted((manifest.get("versions") or {}).items()), columns=["package", "version"])
    out.append(f"<p>git commit <code>{html.escape(str(manifest.get('git_commit') or 'n/a'))}</code> · data "
               f"fingerprint <code>{html.escape(str(manifest.get('data_fingerprint') or 'n/a'))}</code> · total "
               f"notebook time {html.escape(report_summary.fmt(manifest.get('duration_s'), 1))} s · params file "
               f"<code>{html.escape(str(manifest.get('params_file') or 'n/a'))}</code>"
               + "".join(f" extends <code>{html.escape(str(p))}</code>" for p in manifest.get("params_extends") or [])
               + "</p>")
    clean = {k: v for k, v in params.items() if not str(k).startswith("_")}
    out.append("<h3>Params</h3><pre>" + html.escape(yaml.safe_dump(clean, sort_keys=True)) + "</pre>")
    out.append("<h3>Versions</h3>" + _table(versions, index=False))
    if manifest.get("machine"):
        out.append("<h3>Machine</h3><pre>" + html.escape(json.dumps(manifest["machine"], indent=2)) + "</pre>")

    if figures:
        out.append("<h2>All figures</h2><ul>")
        out += [f"<li><a href='../figures/{html.escape(f.name)}'>{html.escape(f.stem)}</a></li>" for f in figures]
        out.append("</ul>")
    out.append("<p class='meta'>Raw results: <a href='../metrics.json'>metrics.json</a>"
               + (" · <a href='../manifest.json'>manifest.json</a>" if (run_dir / "manifest.json").is_file() else "")
               + "</p>" if (run_dir / "metrics.json").is_file() else "")
    out.append("</body></html>")
    return "\n".join(out)


def _show_code_param(run_dir: Path) -> bool:
    params = _run_params(run_dir, _read_json(run_dir / "manifest.json"))
    return bool(((params.get("report") or {}).get("show_code")) or False)


def render_run(run_dir: Path, show_code: bool | None = None) -> Path:
    """Render every executed notebook of ``run_dir`` and the landing page; return ``report/index.html``.

    ``show_code`` None takes ``report.show_code`` from the run's params (default False: code hidden).
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise FileNotFoundError(f"run folder {run_dir} not found: run `make run` (or python -m workbench run) first")
    if show_code is None:
        show_code = _show_code_param(run_dir)
    out = run_dir / REPORT_DIR
    if out.exists():
        shutil.rmtree(out)
    out.mkdir()
    pages, failed = [], {}
    for nb in sorted(run_dir.glob("[0-9][0-9]_*.ipynb")):
        try:
            pages.append(render_notebook(nb, out / f"{nb.stem}.html", show_code))
            log.info("rendered %s", pages[-1].name)
        except Exception as exc:  # one unreadable notebook must not cost the whole report
            failed[nb.name] = f"{type(exc).__name__}: {exc}"
            log.error("could not render %s: %s", nb.name, failed[nb.name])
    index = out / INDEX
    index.write_text(index_html(run_dir, pages, show_code, failed), encoding="utf-8")
    broken = broken_refs(index)
    if broken:
        log.warning("report %s has %d unresolved link(s): %s", index, len(broken), broken[:5])
    log.info("report written to %s", index)
    return index


# ---- checking a page ------------------------------------------------------------------------------
class _Refs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []

    def handle_starttag(self, tag, attrs):
        for k, v in attrs:
            if v and ((tag in ("a", "link") and k == "href") or (tag in ("img", "script", "source") and k == "src")):
                self.refs.append(v)


def page_refs(html_path: Path) -> list[str]:
    """Every href/src of a page (links, images, scripts, stylesheets)."""
    p = _Refs()
    p.feed(Path(html_path).read_text(encoding="utf-8"))
    return p.refs


def broken_refs(html_path: Path) -> list[str]:
    """The page's references that would not load from disk offline: remote URLs and missing local files."""
    bad = []
    for ref in page_refs(html_path):
        u = urlparse(ref)
        if u.scheme in ("data", "mailto") or ref.startswith("#"):
            continue
        if u.scheme or ref.startswith("//"):
            bad.append(ref)
            continue
        if not (Path(html_path).parent / unquote(u.path)).exists():
            bad.append(ref)
    return bad


def main(argv: list[str] | None = None) -> int:
    """Command line of ``make report``: render a run folder's report."""
    from workbench.context import setup_logging

    ap = argparse.ArgumentParser(prog="python -m workbench.report.render", description=__doc__.split("\n")[0])
    ap.add_argument("run_dir", help="a run folder, e.g. outputs/default")
    code = ap.add_mutually_exclusive_group()
    code.add_argument("--show-code", dest="show_code", action="store_true", default=None,
                      help="show code cells (default: the run's report.show_code param, else hidden)")
    code.add_argument("--hide-code", dest="show_code", action="store_false", help="hide code cells")
    args = ap.parse_args(argv)
    setup_logging()
    try:
        index = render_run(Path(args.run_dir), args.show_code)
    except FileNotFoundError as exc:
        print(f"error: {exc}")
        return 2
    print(f"report written to {index}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
