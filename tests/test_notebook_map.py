"""The notebook map (docs/notebooks/index.md) is true of the notebooks: one row per notebook file, every function it names exists
and is used by that notebook, every params block it names is read there (in the notebook's code, or by the
function it names), and every artifact and ``metrics.json`` key it lists as written is written by the notebook's
code or by the package modules it names."""
from __future__ import annotations

import ast
import importlib
import inspect
import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
MAP_PAGE = ROOT / "docs" / "notebooks" / "index.md"
NOTEBOOKS = ROOT / "notebooks"
COLUMNS = ["notebook", "functions", "params", "reads", "writes", "metrics"]

BACKTICKED = re.compile(r"`([^`]+)`")
#: a params entry: `block` then either the code that reads it, in parentheses, or `via` the function that does
PARAMS_ENTRY = re.compile(r"`(?P<block>\w+)`(?: \(`(?P<code>[^`]+)`\))?(?: via `(?P<via>[\w.]+)`)?")


def map_rows() -> list[dict[str, str]]:
    """The rows of the table under ``## Notebook map``, as ``{column: cell text}``."""
    text = MAP_PAGE.read_text(encoding="utf-8")
    assert "\n## Notebook map\n" in text, "docs/notebooks/index.md has no '## Notebook map' section"
    section = text.split("\n## Notebook map\n", 1)[1].split("\n## ", 1)[0]
    lines = [ln for ln in section.splitlines() if ln.startswith("|")]
    assert len(lines) > 2, "the notebook map has no table"
    rows = []
    for line in lines[2:]:  # header and separator first
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        assert len(cells) == len(COLUMNS), f"a map row does not have {len(COLUMNS)} cells: {line}"
        rows.append(dict(zip(COLUMNS, cells)))
    return rows


def notebook_name(row: dict[str, str]) -> str:
    names = BACKTICKED.findall(row["notebook"])
    assert len(names) == 1, f"the first cell should name one notebook: {row['notebook']}"
    return names[0]


def notebook_code(name: str) -> str:
    nb = nbformat.read(str(NOTEBOOKS / name), as_version=4)
    return "\n".join(c.source for c in nb.cells if c.cell_type == "code")


def resolve(dotted: str):
    """The package object a dotted name names (a module, or an attribute path inside one)."""
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for attr in parts[i:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(dotted)


def module_sources(dotted_names: list[str]) -> str:
    """The source of the modules of the named functions, and of the package modules those import (one level)."""
    modules = {inspect.getmodule(resolve(d)).__name__ for d in dotted_names}
    for name in list(modules):
        tree = ast.parse(source_of(name))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("workbench"):
                modules.add(node.module)
                for alias in node.names:  # `from workbench.evaluate import experiment` names a module
                    try:
                        importlib.import_module(f"{node.module}.{alias.name}")
                        modules.add(f"{node.module}.{alias.name}")
                    except ImportError:
                        pass
            elif isinstance(node, ast.Import):
                modules.update(a.name for a in node.names if a.name.startswith("workbench"))
    return "\n".join(source_of(m) for m in sorted(modules))


def source_of(module: str) -> str:
    """A module's file as text (``inspect.getsource`` refuses an empty ``__init__.py``)."""
    return Path(importlib.import_module(module).__file__).read_text(encoding="utf-8")


def without_notes(cell: str) -> str:
    """A cell without its parenthesised notes (they name examples and code, not artifacts)."""
    return re.sub(r"\([^)]*\)", "", cell)


def named_functions(row: dict[str, str]) -> list[str]:
    return [n for n in BACKTICKED.findall(without_notes(row["functions"])) if n.startswith("workbench.")]


ROWS = map_rows()
BY_NAME = {notebook_name(r): r for r in ROWS}


def test_one_row_per_notebook_file():
    files = sorted(p.name for p in NOTEBOOKS.glob("*.ipynb"))
    listed = [notebook_name(r) for r in ROWS]
    assert sorted(listed) == files, f"map rows {listed} vs notebook files {files}"
    assert len(set(listed)) == len(listed)


@pytest.mark.parametrize("name", sorted(BY_NAME))
def test_named_functions_exist_and_are_used(name):
    code = notebook_code(name)
    functions = named_functions(BY_NAME[name])
    assert functions, f"{name}: no package function named"
    for dotted in functions:
        resolve(dotted)
        assert re.search(rf"\b{re.escape(dotted.rsplit('.', 1)[1])}\b", code), f"{name} does not use {dotted}"


@pytest.mark.parametrize("name", sorted(BY_NAME))
def test_params_blocks_are_read(name):
    row, code = BY_NAME[name], notebook_code(name)
    entries = list(PARAMS_ENTRY.finditer(row["params"]))
    assert entries, f"{name}: no params block in its row"
    for e in entries:
        block, read_code, via = e.group("block"), e.group("code"), e.group("via")
        assert bool(read_code) != bool(via), f"{name}: `{block}` needs either the code that reads it or `via`"
        if read_code:
            assert block in read_code, f"{name}: {read_code!r} does not name the block {block!r}"
            assert read_code in code, f"{name}: {read_code!r} is not in the notebook's code"
        else:
            obj = resolve(via)
            short = via.rsplit(".", 1)[1]
            assert re.search(rf"\b{short}\(", code), f"{name} does not call {via}"
            assert re.search(rf"\b{block}\b", inspect.getsource(obj)), f"{via} does not read the {block!r} block"


@pytest.mark.parametrize("name", sorted(BY_NAME))
def test_written_artifacts_are_written(name):
    row, code = BY_NAME[name], notebook_code(name)
    corpus = code + "\n" + module_sources(named_functions(row))
    for artifact in BACKTICKED.findall(without_notes(row["writes"])):
        if artifact.startswith("models/"):
            model = artifact.split("/", 1)[1]
            assert re.search(rf"save_models\([^)]*\b{model}=", code), f"{name} does not save the model {model!r}"
            continue
        literal = re.split(r"[<*]", artifact)[0].removesuffix(".parquet").rstrip("/")
        assert literal, f"{name}: {artifact!r} has no literal part to look for"
        assert re.search(rf"[\"']{re.escape(literal)}", corpus), \
            f"{name}: no string {literal!r} in the notebook or the modules it names"


@pytest.mark.parametrize("name", sorted(BY_NAME))
def test_metrics_keys_are_written(name):
    row, code = BY_NAME[name], notebook_code(name)
    keys = BACKTICKED.findall(row["metrics"])
    assert keys, f"{name}: no metrics.json key in its row"
    for key in keys:
        assert f'log_metrics("{key}"' in code, f"{name} does not write metrics.json key {key!r}"
