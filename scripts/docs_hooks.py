"""MkDocs hooks: the pages of the documentation site that are made from the code and from a run.

- ``reference/params.md``: every params key, default and meaning (:mod:`workbench.params_reference`) and the
  model registry;
- ``reference/artifacts.md``: every file of a run folder and the ``metrics.json`` keys (:mod:`workbench.artifacts`);
- ``notebooks/<notebook>.md``: one page per notebook, from its first Markdown cell, its row of the notebook map
  (``docs/notebooks/index.md``) and the catalog's entries it writes;
- ``gallery/``: the executed notebooks of a run rendered to HTML (nbconvert), and ``results.md``'s leaderboard,
  from the run folder ``$WORKBENCH_DOCS_RUN`` (default ``outputs/default``); without a run the gallery page says
  how to make one. ``results.md`` also shows the bench tables found beside the run (``bench/bench.md``,
  ``benchmarks/summary.md``).

Nothing here reads the network.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

import nbformat
from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parent.parent
RUN_ENV = "WORKBENCH_DOCS_RUN"
MAP_PAGE = "notebooks/index.md"
MAP_COLUMNS = ["notebook", "functions", "params", "reads", "writes", "metrics"]


def run_dir() -> Path:
    """The run whose executed notebooks and results the site shows."""
    return Path(os.environ.get(RUN_ENV) or ROOT / "outputs" / "default").resolve()


def notebook_files() -> list[Path]:
    return sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def executed_notebooks() -> list[Path]:
    run = run_dir()
    return [run / nb.name for nb in notebook_files() if (run / nb.name).is_file()]


def _title(stem: str) -> str:
    number, _, rest = stem.partition("_")
    return f"{number} {rest.replace('_', ' ')}"


# ---- the notebook pages -------------------------------------------------------------------------------
def map_rows(docs_dir: Path) -> dict[str, dict[str, str]]:
    """The notebook map's rows by notebook file name."""
    text = (docs_dir / MAP_PAGE).read_text(encoding="utf-8")
    section = text.split("\n## Notebook map\n", 1)[1].split("\n## ", 1)[0]
    lines = [ln for ln in section.splitlines() if ln.startswith("|")][2:]
    rows = {}
    for line in lines:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        row = dict(zip(MAP_COLUMNS, cells))
        rows[re.findall(r"`([^`]+)`", row["notebook"])[0]] = row
    return rows


def _intro(nb_path: Path) -> str:
    """The notebook's first Markdown cell, its title made a second-level heading."""
    nb = nbformat.read(str(nb_path), as_version=4)
    first = next((c.source for c in nb.cells if c.cell_type == "markdown"), "")
    return re.sub(r"^#+ ", "## ", first, flags=re.M)


def notebook_page(nb_path: Path, row: dict[str, str], has_gallery: bool) -> str:
    from workbench.artifacts import CATALOG

    number = nb_path.name[:2]
    written = [a for a in CATALOG if re.search(rf"\b{number}\b|^{number}_", a.writer)]
    intro = _intro(nb_path)
    title = _title(nb_path.stem)
    if intro.startswith("## "):  # the notebook's own title heads its page
        title, _, intro = intro[3:].partition("\n")
    out = [f"# {title.strip()}", "", f"`notebooks/{nb_path.name}`"
           + (f" · [executed copy from the default run](../gallery/{nb_path.stem}.md)" if has_gallery else ""), "",
           intro.strip(), "", "## Where its code lives", "", row["functions"], "",
           "## Params", "", row["params"] + " (every key: [params reference](../reference/params.md))", "",
           "## Artifacts", "", f"Reads: {row['reads']}", "", f"Writes: {row['writes']}", ""]
    if written:
        out += ["| artifact | meaning |", "|---|---|"]
        out += [f"| `{a.path}` | {a.meaning} |" for a in written]
        out += ["", "Columns and types: [artifact reference](../reference/artifacts.md)."]
    out += ["", "## `metrics.json` keys", "", row["metrics"]]
    return "\n".join(out) + "\n"


# ---- reference pages ----------------------------------------------------------------------------------------
def params_page() -> str:
    from workbench.params_reference import data_keys, markdown, registry_markdown

    return (markdown() + "\n\nThe `data` block also takes the loader's own keys "
            + ", ".join(f"`data.{k}`" for k in data_keys())
            + " and each source's options ([your data](../data.md)).\n\n"
            "## Models: the registry\n\nEvery ranking model of `workbench/recommend/registry.py` "
            "(`recommenders.<model>` takes its constructor arguments):\n\n" + registry_markdown() + "\n")


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def artifacts_page() -> str:
    from workbench.artifacts import CATALOG, METRICS_KEYS

    out = ["# Artifacts and `metrics.json`", "",
           "Generated from the artifact catalog (`workbench/artifacts.py`); a test checks a real default run "
           "against it. Paths are relative to the run folder (`outputs/<params name>/`); `<...>` stands for a "
           "name, `*` for any part of one.", "", "## Files", "",
           "| path | written by | when | meaning |", "|---|---|---|---|"]
    for a in CATALOG:
        out.append(f"| `{a.path}` | {_cell(a.writer)} | {_cell(a.when) or 'every run'} | {_cell(a.meaning)} |")
    out += ["", "## Columns", ""]
    for a in CATALOG:
        if a.columns is None and not a.note:
            continue
        out += [f"### `{a.path}`", "", a.meaning + ".", ""]
        if a.note:
            out += [a.note + ".", ""]
        if a.columns:
            out += ["| column | dtype |", "|---|---|"] + [f"| `{c}` | `{t}` |" for c, t in a.columns.items()] + [""]
    out += ["## `metrics.json`", "", "One key per stage; a stage that cannot work on the data records "
            "`{\"skipped\": \"<reason>\"}` under its key.", "", "| key | holds |", "|---|---|"]
    out += [f"| `{k}` | {_cell(v)} |" for k, v in METRICS_KEYS.items()]
    return "\n".join(out) + "\n"


# ---- the gallery and the results of a run --------------------------------------------------------------------
def gallery_index(pages: list[Path]) -> str:
    out = ["# Gallery", ""]
    if pages:
        out += [f"The executed notebooks of the run in `{run_dir().name}/`, as the run left them (outputs and "
                "figures; the code cells are shown too).", ""]
        out += [f"- [{_title(p.stem)}]({p.stem}.md)" for p in pages]
    else:
        out += ["No executed notebooks were found when this site was built. `make run` writes them to "
                "`outputs/default/`; `make docs` after it renders them here (or set `WORKBENCH_DOCS_RUN` to another "
                "run folder)."]
    return "\n".join(out) + "\n"


def gallery_page(nb_path: Path) -> str:
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="basic")
    body, _ = exporter.from_notebook_node(nbformat.read(str(nb_path), as_version=4))
    body = re.sub(r"<script\b.*?</script>", "", body, flags=re.S)
    intro = _intro(nb_path)
    title = intro[3:].partition("\n")[0].strip() if intro.startswith("## ") else _title(nb_path.stem)
    return (f"# {title}\n\nThe executed `{nb_path.name}` of the run in `{run_dir().name}/`.\n\n"
            f"<div class=\"notebook-gallery\" markdown=\"0\">\n{body}\n</div>\n")


def results_from_run() -> str:
    metrics = run_dir() / "metrics.json"
    if not metrics.is_file():
        return ("## The default run's leaderboard\n\nNo run was found when this site was built (`make run` "
                "makes `outputs/default/`); notebook 07 and the report show it.\n")
    evaluation = json.loads(metrics.read_text()).get("evaluation") or {}
    board = evaluation.get("leaderboard") or []
    if not board:
        return "## The default run's leaderboard\n\nThe run has no leaderboard (`evaluation` was skipped).\n"
    k = evaluation.get("k")
    first = ["model", "family", f"ndcg@{k}", f"precision@{k}", f"recall@{k}", f"map@{k}", "coverage"]
    flat = [c for c in board[0] if not isinstance(board[0][c], (dict, list))]
    columns = [c for c in first if c in flat] + [c for c in flat if c not in first]
    out = [f"## The run's leaderboard (`{run_dir().name}/metrics.json`)", "",
           f"Generated from the run's `metrics.json` → `evaluation.leaderboard` at build time: every model on one "
           f"split, at K = {k}, on {evaluation.get('test_customers')} test customers; best model: "
           f"`{evaluation.get('best_model')}`.", "", "| " + " | ".join(columns) + " |",
           "|" + "---|" * len(columns)]
    for row in board:
        out.append("| " + " | ".join(f"{row[c]:.4f}" if isinstance(row[c], float) else str(row[c])
                                     for c in columns) + " |")
    return "\n".join(out) + "\n"


# ---- the hooks ------------------------------------------------------------------------------------------------
def on_config(config):
    pages = executed_notebooks()
    nav = config["nav"]
    for entry in nav:
        if isinstance(entry, dict) and "Notebooks" in entry:
            entry["Notebooks"] = [MAP_PAGE] + [f"notebooks/{nb.stem}.md" for nb in notebook_files()]
        if isinstance(entry, dict) and "Gallery" in entry:
            entry["Gallery"] = ["gallery/index.md"] + [f"gallery/{p.stem}.md" for p in pages]
    return config


def on_files(files, config):
    docs_dir = Path(config["docs_dir"])
    rows = map_rows(docs_dir)
    pages = executed_notebooks()
    generated = {"reference/params.md": params_page(), "reference/artifacts.md": artifacts_page(),
                 "gallery/index.md": gallery_index(pages)}
    for nb in notebook_files():
        generated[f"notebooks/{nb.stem}.md"] = notebook_page(nb, rows[nb.name], bool(pages))
    for page in pages:
        generated[f"gallery/{page.stem}.md"] = gallery_page(page)
    for path, text in generated.items():
        files.append(File.generated(config, path, content=text))
    return files


#: tables other commands write beside the runs: (file under the outputs folder, the command that writes it)
BENCH_TABLES = (("bench/bench.md", "make bench"), ("benchmarks/summary.md", "make benchmarks"))


def bench_tables() -> str:
    """The speed and real-data benchmark tables found beside the run (``make bench``, ``make benchmarks``),
    their headings moved below this page's."""
    out = []
    for name, command in BENCH_TABLES:
        path = run_dir().parent / name
        if path.is_file():
            text = re.sub(r"^(#+) ", lambda m: "#" * min(len(m.group(1)) + 2, 6) + " ", path.read_text(),
                          flags=re.M)
            out += [f"## `{command}`: `outputs/{name}`", "", "Read from the file when this site was built.", "",
                    text, ""]
        else:
            out += [f"## `{command}`", "", f"`outputs/{name}` was not there when this site was built; `{command}` "
                    "writes it, and the next `make docs` shows it here. The measured tables below are the last "
                    "ones recorded by hand, with their date and commit.", ""]
    return "\n".join(out)


def on_page_markdown(markdown, page, config, files):
    if page.file.src_uri == "results.md":
        return markdown.replace("<!-- run results -->", results_from_run() + "\n" + bench_tables())
    return markdown
