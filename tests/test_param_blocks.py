"""A misspelt key in any block of a params file stops the run at its start, naming the block, the key and the
known keys; every shipped params file passes."""
import copy
import re

import pytest

from workbench import param_blocks
from workbench.config import OPEN_PATHS, load_params, merge_block, project_root
from workbench.errors import ConfigError

TYPO = "typo_key"


def block_paths() -> list[str]:
    """Every dotted path of a block (and of each nested block) whose keys the strict merge checks."""
    from workbench import segment, tracking
    from workbench.evaluate import experiment
    from workbench.pricing import pipeline
    from workbench.recommend import basket, content, context, hybrid, protocol

    def walk(defaults: dict, where: str):
        yield where
        for key, value in defaults.items():
            path = f"{where}.{key}"
            if isinstance(value, dict) and path not in OPEN_PATHS:
                yield from walk(value, path)

    tops = {"segmentation": segment.DEFAULTS, "evaluation": experiment.DEFAULTS, "recommenders": protocol.defaults(),
            "content": content.DEFAULTS, "context": context.DEFAULTS, "basket": basket.DEFAULTS,
            "hybrid": hybrid.DEFAULTS, "pricing": pipeline.DEFAULTS, "tracking": tracking.DEFAULTS}
    paths = [p for name, defaults in tops.items() for p in walk(defaults, name)]
    return paths + ["limits", "clickstream.sessions", "clickstream.bots", "clickstream.session_recs"]


def with_key(params: dict, path: str, key: str, value=1) -> dict:
    out = copy.deepcopy(params)
    node = out
    for part in path.split("."):
        node = node.setdefault(part, {})
    node[key] = value
    return out


@pytest.fixture(scope="module")
def default_params():
    return load_params("default")


def test_the_blocks_walked_are_the_nested_ones():
    paths = block_paths()
    assert {"segmentation.clusters", "segmentation.clv", "evaluation.validation", "recommenders.surprise",
            "context.seasonal", "hybrid.rules", "hybrid.impact", "pricing.elasticity", "pricing.identification"} <= set(paths)
    assert not {"hybrid.components", "hybrid.weights", "recommenders.tune", "hybrid.rules.segment_rules"} & set(paths)


@pytest.mark.parametrize("path", block_paths())
def test_a_typo_in_any_block_names_the_block_the_key_and_the_known_keys(default_params, path):
    param_blocks.check(default_params)  # the unchanged file passes
    with pytest.raises(ConfigError, match=rf"params {re.escape(path)}: unknown key\(s\) \['{TYPO}'\]; known: \[") as err:
        param_blocks.check(with_key(default_params, path, TYPO))
    assert TYPO not in str(err.value).split("known:")[1]


def test_a_misspelt_block_and_a_retired_key_are_named(default_params):
    with pytest.raises(ConfigError, match=r"unknown block\(s\) \['hybird'\]"):
        param_blocks.check({**default_params, "hybird": {"final": "tuned"}})
    with pytest.raises(ConfigError, match="'segmentation.kmeans' is now 'segmentation.clusters'"):
        param_blocks.check(with_key(default_params, "segmentation", "kmeans", {"k": 3}))
    with pytest.raises(ConfigError, match="'hybrid.max_customers' is now 'evaluation.max_customers'"):
        param_blocks.check(with_key(default_params, "hybrid", "max_customers", 100))


def test_a_typo_in_a_hybrid_component_is_named(default_params):
    with pytest.raises(ConfigError, match=r"params hybrid.components.cross_sell: unknown key\(s\) \['paramz'\]"):
        param_blocks.check(with_key(default_params, "hybrid.components.cross_sell", "paramz", {}))
    with pytest.raises(ConfigError, match=r"params hybrid.components.cross_sell.params: unknown key\(s\) "
                                          r"\['min_suport'\]; known: \[.*'min_support'"):
        param_blocks.check(with_key(default_params, "hybrid.components.cross_sell.params", "min_suport", 0.01))


def test_free_maps_take_any_key_and_merge_like_before(default_params):
    params = with_key(default_params, "hybrid.components", "mine", {"model": "item_knn"})
    params = with_key(params, "hybrid.rules.segment_rules", "new_segment", "premium")
    params = with_key(params, "recommenders", "ease", {"lam": 100.0})  # a model's own block
    param_blocks.check(params)
    merged = merge_block({"a": 1, "b": {"c": 2, "d": 3}}, {"b": {"c": 5}}, "x")
    assert merged == {"a": 1, "b": {"c": 5, "d": 3}}


@pytest.mark.parametrize("name", sorted(p.stem for p in (project_root() / "params").glob("*.yaml")))
def test_every_shipped_params_file_passes(name):
    param_blocks.check(load_params(name))
