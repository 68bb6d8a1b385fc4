import pytest

from workbench.config import datasets_dir, load_params, parse_override, resolve_params_path
from workbench.errors import ConfigError


def test_default_params_and_overrides():
    p = load_params("default", ["data.synthetic.n_customers=250", "seed=7", "newblock.flag=true"])
    assert p["name"] == "default" and p["seed"] == 7
    assert p["data"]["synthetic"]["n_customers"] == 250
    assert p["data"]["synthetic"]["n_products"] == 500  # untouched siblings stay
    assert p["newblock"]["flag"] is True


def test_override_parsing_and_errors():
    assert parse_override("a.b=[1, 2]") == (["a", "b"], [1, 2])
    assert parse_override("x=hello") == (["x"], "hello")
    with pytest.raises(ConfigError):
        parse_override("novalue")
    with pytest.raises(ConfigError, match="not found"):
        load_params("no_such_params_file")
    with pytest.raises(ConfigError, match="data"):
        load_params({"data": "oops"})


def test_extends(tmp_path):
    f = tmp_path / "mine.yaml"
    f.write_text("extends: default\ndata:\n  synthetic:\n    n_customers: 50\n")
    p = load_params(f)
    assert p["name"] == "mine" and p["data"]["synthetic"] == {"n_customers": 50, "n_products": 500, "n_weeks": 104}


def test_workbench_data_env(monkeypatch, tmp_path):
    monkeypatch.setenv("WORKBENCH_DATA", str(tmp_path))
    assert datasets_dir() == tmp_path.resolve()


def test_extends_records_the_file_passed_and_its_chain(tmp_path):
    base = tmp_path / "base.yaml"
    base.write_text("extends: default\nbasket:\n  min_confidence: 0.2\n")
    mine = tmp_path / "my.yaml"
    mine.write_text("extends: base.yaml\nseed: 7\n".replace("base.yaml", str(base)))
    p = load_params(mine)
    assert p["_source"] == str(mine.resolve())
    assert p["_extends"] == [str(base.resolve()), str(resolve_params_path("default"))]
    assert p["basket"]["min_confidence"] == 0.2 and p["seed"] == 7
    assert "_extends" not in load_params("default")


def test_extends_with_another_source_leaves_the_synthetic_settings_behind(tmp_path):
    mine = tmp_path / "my.yaml"
    mine.write_text("extends: default\ndata:\n  source: sql\n  path: shop.sqlite\n")
    p = load_params(mine)
    assert p["data"] == {"source": "sql", "path": "shop.sqlite", "strict": False}  # no data.synthetic
    assert "holdout_units" not in p["segmentation"]["clv"]  # the synthetic shop's 26 weeks: derived instead
    assert p["evaluation"]["split"] == "last_basket" and p["tracking"]["enabled"] is True  # the rest is kept
    same = tmp_path / "same.yaml"
    same.write_text("extends: default\ndata:\n  synthetic:\n    n_customers: 50\n")
    assert load_params(same)["segmentation"]["clv"]["holdout_units"] == 26
