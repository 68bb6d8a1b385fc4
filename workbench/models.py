"""Saved models: fitted objects under ``<run>/artifacts/models/<name>/`` with the library versions they need.

A notebook saves its final fitted model with :func:`save_model`; anyone reloads it with
:func:`load_model` (also ``workbench.load_model``)::

    save_model(ctx.run_dir, "clustering", model)          # in notebook 01
    model = workbench.load_model("outputs/default", "clustering")
    model.predict(features)

Each model folder holds ``model.pkl`` (the object, pickled by cloudpickle, which also takes the lambdas
that ``lifetimes`` keeps in its fitters) and ``model.json``: its name,
class, description, and the versions of Python and of every library it was saved with. Loading under
other versions issues a :class:`ModelVersionWarning` that names each difference; a pickle that no
longer loads raises :class:`ModelLoadError` naming the versions. Pickles run code when loaded: load only
models from runs you trust.
"""
from __future__ import annotations

import json
import logging
import platform
import warnings
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from workbench.errors import WorkbenchError
from workbench.report.record import ARTIFACTS_DIR

log = logging.getLogger(__name__)

MODELS_DIR = "models"
MODEL_FILE = "model.pkl"
META_FILE = "model.json"
#: the libraries whose versions a saved model records (and compares when loaded)
LIBRARIES = ("workbench", "numpy", "pandas", "scipy", "scikit-learn", "lightgbm", "lifetimes", "scikit-surprise",
             "implicit", "mlxtend", "cloudpickle")
#: the models the notebooks save: name -> (what it is, the method that serves it)
KNOWN: dict[str, tuple[str, str]] = {
    "clustering": ("the selected customer clustering (ClusterSelector; pipeline_ = StandardScaler + k-means or "
                   "Gaussian mixture)", "predict"),
    "clv": ("BG/NBD + Gamma-Gamma customer lifetime value (CLVModel)", "predict"),
    "hybrid": ("the final hybrid recommender with its fitted components, weights, re-ranker, rules and "
               "explanations (FinalRecommender)", "recommend"),
    "reranker": ("the LightGBM LGBMRanker re-ranking the hybrid's candidates (LearnedReranker)", "scores"),
    "demand": ("the LightGBM demand model (DemandModel)", "predict"),
    "pricing": ("the price suggester: demand model, elasticities, costs and guardrails (PriceSuggester)", "suggest"),
}


#: what a model's serving method takes besides its input, per entry (MLflow passes only the params its signature
#: declares): name -> (MLflow type, default). ``recommend``'s ``k`` is the list length (``None``: the run's K)
SERVE_PARAMS: dict[str, dict[str, tuple[str, Any]]] = {"recommend": {"k": ("long", None)}}


class ModelLoadError(WorkbenchError):
    """A saved model is missing or cannot be loaded."""


class ModelVersionWarning(UserWarning):
    """A model was saved under other library versions than the ones installed now."""


def library_versions(libraries=None) -> dict[str, str | None]:
    """The installed versions of Python and of ``libraries`` (default :data:`LIBRARIES`; ``None`` when absent)."""
    out: dict[str, str | None] = {"python": platform.python_version()}
    for lib in LIBRARIES if libraries is None else libraries:
        try:
            out[lib] = metadata.version(lib)
        except metadata.PackageNotFoundError:
            out[lib] = None
    return out


def models_dir(run_dir: str | Path) -> Path:
    """``<run_dir>/artifacts/models``."""
    return Path(run_dir) / ARTIFACTS_DIR / MODELS_DIR


def saved_models(run_dir: str | Path) -> list[str]:
    """The names of the models saved in a run, sorted."""
    d = models_dir(run_dir)
    return sorted(p.parent.name for p in d.glob(f"*/{META_FILE}")) if d.is_dir() else []


def save_model(run_dir: str | Path, name: str, model: Any, description: str | None = None,
               entry: str | None = None) -> Path:
    """Save a fitted ``model`` as ``<run_dir>/artifacts/models/<name>/`` and return that folder.

    ``entry`` names the method that serves it (``predict``, ``recommend``; default: the one :data:`KNOWN`
    gives the name, else ``predict``): the MLflow model calls it.
    """
    import cloudpickle

    if not name or "/" in name or name.startswith("."):
        raise ValueError(f"model name {name!r} must be a plain folder name such as 'clustering'")
    folder = models_dir(run_dir) / name
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / MODEL_FILE, "wb") as fh:
        cloudpickle.dump(model, fh)
    cls = type(model)
    meta = {"name": name, "class": f"{cls.__module__}.{cls.__qualname__}",
            "description": description or KNOWN.get(name, ("", ""))[0], "file": MODEL_FILE,
            "entry": entry or KNOWN.get(name, ("", "predict"))[1],
            "versions": library_versions()}
    (folder / META_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    log.info("saved model %s (%s) to %s", name, meta["class"], folder)
    return folder


def save_models(run_dir: str | Path, **fitted: Any) -> list[Path]:
    """Save each fitted model given by name (``save_models(run_dir, clustering=model, clv=None)``); ``None``
    values (a model the run could not fit) are skipped. Returns the folders written."""
    return [save_model(run_dir, name, model) for name, model in fitted.items() if model is not None]


def model_info(run_dir: str | Path, name: str) -> dict:
    """The ``model.json`` of a saved model (name, class, description, versions)."""
    path = models_dir(run_dir) / name / META_FILE
    if not path.exists():
        have = saved_models(run_dir)
        raise ModelLoadError(f"no model '{name}' in {models_dir(run_dir)}; saved models: "
                             f"{', '.join(have) if have else 'none (run the notebooks that fit them first)'}")
    return json.loads(path.read_text())


def version_differences(saved: dict[str, str | None], current: dict[str, str | None] | None = None) -> dict:
    """``{library: (saved, installed)}`` for every library whose version differs (Python by major.minor)."""
    current = current or library_versions()
    out = {}
    for lib, was in saved.items():
        now = current.get(lib)
        if lib == "python":
            was, now = ".".join(str(was).split(".")[:2]), ".".join(str(now).split(".")[:2])
        if was != now:
            out[lib] = (saved[lib], current.get(lib))
    return out


def load_model(run_dir: str | Path, name: str) -> Any:
    """Return the fitted model ``name`` saved in the run folder ``run_dir``.

    Warns (:class:`ModelVersionWarning`) when it was saved under other library versions; raises
    :class:`ModelLoadError` when it is missing or cannot be unpickled.

    Examples:
        A model saved into a run folder comes back fitted (a run's notebooks save theirs the same way):

        >>> import tempfile
        >>> from sklearn.cluster import KMeans
        >>> run = tempfile.mkdtemp()
        >>> folder = save_model(run, "clustering", KMeans(n_clusters=1, n_init=1).fit([[0.0], [1.0]]))
        >>> saved_models(run)
        ['clustering']
        >>> load_model(run, "clustering").cluster_centers_
        array([[0.5]])
    """
    import cloudpickle

    meta = model_info(run_dir, name)
    diff = version_differences(meta.get("versions") or {})
    saved_with = ", ".join(f"{lib} {was} (installed: {now})" for lib, (was, now) in sorted(diff.items()))
    if diff:
        warnings.warn(f"model '{name}' in {run_dir} was saved with {saved_with}; its predictions may differ "
                      f"from the run's. Re-run the run's notebooks to refit it under the installed versions.",
                      ModelVersionWarning, stacklevel=2)
    path = models_dir(run_dir) / name / meta.get("file", MODEL_FILE)
    try:
        with open(path, "rb") as fh:
            return cloudpickle.load(fh)
    except Exception as exc:  # an unpickling error: a class moved, a library changed its internals
        extra = f"; it was saved with {saved_with}" if diff else ""
        raise ModelLoadError(f"model '{name}' ({meta.get('class')}) at {path} cannot be loaded: "
                             f"{type(exc).__name__}: {exc}{extra}") from exc


# ---- MLflow --------------------------------------------------------------------------------------------

def _pyfunc_class():
    import mlflow.pyfunc

    class SavedModel(mlflow.pyfunc.PythonModel):
        """A workbench saved model as an MLflow pyfunc: ``predict`` calls the method named by its ``entry``."""

        def load_context(self, context):
            import cloudpickle

            with open(context.artifacts["model"], "rb") as fh:
                self.model = cloudpickle.load(fh)
            self.entry = json.loads(Path(context.artifacts["meta"]).read_text()).get("entry", "predict")

        def predict(self, context, model_input: pd.DataFrame, params=None):  # a DataFrame hint: MLflow passes
            # the input through as it is (no schema inferred from it) and does not ask for type hints; params
            # are those the signature declares (SERVE_PARAMS: recommend's k, None when not given)
            return getattr(self.model, self.entry)(model_input, **(params or {}))

    return SavedModel


def _signature(entry: str | None):
    """The MLflow signature of a model served by ``entry``: only its params (:data:`SERVE_PARAMS`), the input
    stays free-form; ``None`` when the entry takes no params."""
    spec = SERVE_PARAMS.get(entry or "")
    if not spec:
        return None
    from mlflow.models import ModelSignature
    from mlflow.types.schema import ParamSchema, ParamSpec

    return ModelSignature(params=ParamSchema([ParamSpec(key, kind, default) for key, (kind, default) in spec.items()]))


def log_mlflow_model(run_dir: str | Path, name: str) -> None:
    """Log the saved model ``name`` of ``run_dir`` to the active MLflow run as a pyfunc model named ``name``."""
    import mlflow.pyfunc

    meta = model_info(run_dir, name)
    folder = models_dir(run_dir) / name
    versions = meta.get("versions") or {}
    reqs = [f"{lib}=={v}" for lib, v in sorted(versions.items()) if lib not in ("python", "workbench") and v]
    # MLflow's logger warns that the wrapper is pickled (the saved model itself already is, by design) and that
    # a DataFrame type hint gives no signature (the models take free-form DataFrames), and it warns that a
    # signature of params only comes without an input example (the input is free-form): none helps the user
    pyfunc_log = logging.getLogger("mlflow.pyfunc")
    level = pyfunc_log.level
    pyfunc_log.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*input example was not provided", category=UserWarning)
            mlflow.pyfunc.log_model(name=name, python_model=_pyfunc_class()(), signature=_signature(meta.get("entry")),
                                    artifacts={"model": str(folder / meta.get("file", MODEL_FILE)),
                                               "meta": str(folder / META_FILE)},
                                    pip_requirements=reqs, metadata={"workbench_class": meta.get("class", ""),
                                                                    "description": meta.get("description", "")})
    finally:
        pyfunc_log.setLevel(level)
