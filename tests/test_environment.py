"""pyproject.toml and environment.yml must list the same packages with the same lower bounds."""
import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
CONDA_NAMES = {"pyyaml": "pyyaml"}


def parse(spec: str) -> tuple[str, str]:
    m = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$", spec)
    return m.group(1).lower().replace("_", "-"), m.group(2).replace(" ", "")


def test_environment_matches_pyproject():
    py = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = dict(parse(s) for s in py["dependencies"] + py["optional-dependencies"]["dev"])
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = dict(parse(s) for s in env["dependencies"] if isinstance(s, str) and not s.startswith(("python", "pip")))
    pip = [s for d in env["dependencies"] if isinstance(d, dict) for s in d.get("pip", [])]
    conda.update(parse(s) for s in pip if not s.startswith("-"))  # wheels only pip has (psycopg[binary])
    assert conda == wanted


def test_top_level_layout():
    for name in ["notebooks", "workbench", "params", "tests", "environment.yml", "Makefile", "README.md",
                 "pyproject.toml", ".ci/run"]:
        assert (ROOT / name).exists(), name
    assert "outputs/" in (ROOT / ".gitignore").read_text()
    assert (ROOT / ".ci/run").read_text().strip().endswith("make test")


def test_source_notebooks_have_no_outputs_and_a_parameters_cell():
    import nbformat

    nbs = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    assert nbs
    for path in nbs:
        nb = nbformat.read(str(path), as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert all(not c.get("outputs") and c.get("execution_count") is None for c in code), path.name
        assert any("parameters" in c.metadata.get("tags", []) for c in code), path.name
