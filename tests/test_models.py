"""Saved models: the library versions they record, the warning under other versions, clear load errors."""
import json
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.preprocessing import StandardScaler

import workbench
from workbench.models import ModelLoadError, ModelVersionWarning, library_versions, model_info, save_model, saved_models


def fitted_scaler():
    X = pd.DataFrame({"a": [1.0, 2.0, 4.0], "b": [3.0, 0.5, 0.25]})
    return StandardScaler().fit(X), X


def test_round_trip_records_versions_and_loads_silently(tmp_path):
    scaler, X = fitted_scaler()
    folder = save_model(tmp_path, "scaler", scaler, entry="transform")
    assert folder == tmp_path / "artifacts" / "models" / "scaler"
    info = model_info(tmp_path, "scaler")
    assert info["class"] == "sklearn.preprocessing._data.StandardScaler" and info["entry"] == "transform"
    assert info["versions"] == library_versions() and info["versions"]["scikit-learn"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # same versions: no warning at all
        loaded = workbench.load_model(tmp_path, "scaler")
    np.testing.assert_array_equal(loaded.transform(X), scaler.transform(X))
    assert saved_models(tmp_path) == ["scaler"]


def test_other_library_versions_warn_by_name(tmp_path):
    scaler, X = fitted_scaler()
    save_model(tmp_path, "scaler", scaler)
    meta_path = tmp_path / "artifacts" / "models" / "scaler" / "model.json"
    meta = json.loads(meta_path.read_text())
    installed = meta["versions"]["scikit-learn"]
    meta["versions"]["scikit-learn"] = "0.24.2"
    meta_path.write_text(json.dumps(meta))
    with pytest.warns(ModelVersionWarning, match=rf"scikit-learn 0\.24\.2 \(installed: {installed}\)"):
        loaded = workbench.load_model(tmp_path, "scaler")
    np.testing.assert_array_equal(loaded.transform(X), scaler.transform(X))


def test_missing_or_broken_models_say_what_to_do(tmp_path):
    save_model(tmp_path, "scaler", fitted_scaler()[0])
    with pytest.raises(ModelLoadError, match="no model 'hybrid'.*saved models: scaler"):
        workbench.load_model(tmp_path, "hybrid")
    (tmp_path / "artifacts" / "models" / "scaler" / "model.pkl").write_bytes(b"not a pickle")
    with pytest.raises(ModelLoadError, match="StandardScaler.*cannot be loaded"):
        workbench.load_model(tmp_path, "scaler")
    with pytest.raises(ModelLoadError, match="none"):
        workbench.load_model(tmp_path / "empty", "scaler")
