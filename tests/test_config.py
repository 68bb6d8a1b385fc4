import pytest

from workbench.config import datasets_dir, load_params, parse_override
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
