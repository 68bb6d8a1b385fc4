"""The documentation's generated parts: the params reference against the keys the readers accept, the artifact
catalog's patterns, and the runnable examples (doctests). tests/test_docs_site.py checks the catalog against a real
default run and builds the site from it."""
from __future__ import annotations

import doctest
import importlib
import re
from pathlib import Path

import pytest

from workbench import artifacts, param_blocks
from workbench.config import load_params, set_path
from workbench.errors import ConfigError
from workbench.params_reference import EMPTY_PARAMS, data_keys, reference

ROOT = Path(__file__).resolve().parent.parent
#: modules whose docstrings carry runnable examples, and the page with the others
DOCTEST_MODULES = ("workbench.segment.rfm", "workbench.recommend.basket", "workbench.models", "workbench.export",
                   "workbench.evaluate.split", "workbench.evaluate.leaderboard")
EXAMPLES_PAGE = ROOT / "docs" / "api" / "examples.md"
PROBE = "zz_not_a_key"


def _known_after_probe(path: list[str]) -> set[str]:
    """The keys the reader of ``path`` (a dotted params path) names as known when given an unknown one there."""
    params = load_params(dict(EMPTY_PARAMS))
    set_path(params, [*path, PROBE], 1)
    with pytest.raises(ConfigError) as caught:
        if path[:2] == ["data", "validation"]:
            from workbench.data.validate import Limits

            Limits.from_params(params["data"]["validation"])
        else:
            param_blocks.check(params)
    message = str(caught.value)
    assert PROBE in message, message
    return set(re.findall(r"'([^']+)'", message.split("known:", 1)[1]))


REF = reference()


def test_the_reference_has_every_block_the_readers_have():
    assert set(REF["block"]) == set(param_blocks.readers()) | {"data"}


PARENTS = sorted({".".join(k.split(".")[:i]) for k in REF["key"] for i in range(1, k.count(".") + 1)}
                 - {"data", "data.synthetic"})


@pytest.mark.parametrize("parent", PARENTS)
def test_documented_keys_are_the_keys_the_reader_accepts(parent):
    depth = parent.count(".") + 1
    documented = {k.split(".")[depth] for k in REF["key"] if k.startswith(parent + ".")}
    known = _known_after_probe(parent.split("."))
    if parent == "clickstream.session_recs":  # the session gap is clickstream.sessions' (the reader refuses it here)
        known.discard("gap_minutes")
    assert documented == known


def test_every_documented_key_is_accepted_at_its_default():
    from workbench.params_reference import accepted

    refused = [key for key, value in zip(REF["key"], REF["value"])
               if not key.startswith("data.") and not accepted(key, value)]
    assert refused == []


def test_synthetic_keys_are_the_generator_settings():
    from workbench.data.synthetic import default_config

    assert {k.split(".", 2)[2] for k in REF["key"] if k.startswith("data.synthetic.")} == set(default_config())
    assert "source" in data_keys()


def test_catalog_paths_match_what_they_name():
    assert artifacts.find("artifacts/recs_ease.parquet").path == "artifacts/recs_<model>.parquet"
    assert artifacts.find("artifacts/recs_hybrid_final.parquet").path == "artifacts/recs_hybrid_<variant>.parquet"
    assert artifacts.find("figures/01_snake_plot.png").path == "figures/<nn>_*.png"
    assert artifacts.find("artifacts/models/hybrid/model.pkl").path == "artifacts/models/<name>/model.pkl"
    assert artifacts.find("artifacts/unknown.parquet") is None
    assert artifacts.find("notes.txt") is None


@pytest.mark.parametrize("module", DOCTEST_MODULES)
def test_docstring_examples_run(module):
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{module} has no example"
    assert result.failed == 0


def test_examples_page_runs():
    result = doctest.testfile(str(EXAMPLES_PAGE), module_relative=False, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
