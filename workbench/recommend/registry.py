"""The model registry: every ranking model of the workbench, one entry each.

An entry (:class:`ModelSpec`) gives a model name its class, its leaderboard family, fixed constructor arguments,
what it needs from the data, its default tuning grid, whether notebook 02 runs it by default, and whether (and
from which params block) it can be a hybrid component. Registering a model is adding one entry to :data:`MODELS`.

Everything that needs a model by name reads this table: notebook 02's model list, default models, tuning grids
and rating models (:mod:`workbench.recommend.protocol`); the models of notebooks 03 and 04; the hybrid's
components (``hybrid.components.<component>: {model: <name>}``, :mod:`workbench.recommend.hybrid`); the
leaderboard's families and pricing's interest source (both given :func:`families` by their caller, since
``evaluate`` and ``pricing`` sit beside ``recommend``); the bench's collaborative-filtering stage and the batch's ALS.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from workbench.errors import ConfigError
from workbench.evaluate.leaderboard import FAMILIES, HYBRID_FAMILY
from workbench.recommend.base import Recommender
from workbench.recommend.baselines import MostPopular, RandomRecommender
from workbench.recommend.basket import BasketRecommender
from workbench.recommend.cf import EASE, ItemKNN, SurpriseRecommender
from workbench.recommend.content import ContentRecommender
from workbench.recommend.context import ClusterTrendingRecommender, PriceAffinityRecommender, SeasonalRecommender
from workbench.recommend.implicit_models import ALS, BPR
from workbench.recommend.user_knn import UserKNN

#: what a model can need from the data: rating values, product prices, baskets of purchases
NEEDS = ("ratings", "prices", "baskets")


@dataclass(frozen=True)
class ModelSpec:
    """One registered model.

    ``fixed`` are constructor arguments every instance gets (params override them); ``needs`` says what the data
    must hold for it (:data:`NEEDS`); ``grid`` is its default tuning grid (``recommenders.tune.<name>``);
    ``default`` puts it in notebook 02's default model list (families ``baseline`` and ``cf``); ``hybrid`` says it
    can be a hybrid component, whose constructor arguments then come from the ``params_from`` block (dots for
    nesting, e.g. ``context.seasonal``; None: the class defaults).
    """

    name: str
    cls: type
    family: str
    fixed: Mapping[str, Any] = field(default_factory=dict)
    needs: frozenset = frozenset()
    grid: Mapping[str, list] = field(default_factory=dict)
    default: bool = False
    hybrid: bool = False
    params_from: str | None = None

    def __post_init__(self):
        if not (isinstance(self.cls, type) and issubclass(self.cls, Recommender)):
            raise TypeError(f"model '{self.name}': {self.cls!r} is not a Recommender subclass")
        if self.family not in FAMILIES or self.family == HYBRID_FAMILY:
            raise ValueError(f"model '{self.name}': family '{self.family}' is not one of "
                             f"{[f for f in FAMILIES if f != HYBRID_FAMILY]}")
        unknown = sorted(set(self.needs) - set(NEEDS))
        if unknown:
            raise ValueError(f"model '{self.name}': unknown needs {unknown}; known: {list(NEEDS)}")

    def build(self, params: Mapping | None = None, strict: bool = True) -> Recommender:
        """Return the unfitted model: its fixed arguments with ``params`` over them.

        ``strict``: every key must be a constructor argument (else :class:`ConfigError`); otherwise keys that
        are not are left out (a stage's params block holds settings of the stage besides the model's)."""
        model = self.cls.from_params({**self.fixed, **(params or {})}, strict=strict)
        model.name = self.name
        return model


def _by_name(*specs: ModelSpec) -> dict[str, ModelSpec]:
    out: dict[str, ModelSpec] = {}
    for spec in specs:
        if spec.name in out:
            raise ValueError(f"model '{spec.name}' is registered twice")
        out[spec.name] = spec
    return out


#: model name -> its entry, in the order notebook 02 lists its models
MODELS: dict[str, ModelSpec] = _by_name(
    ModelSpec("random", RandomRecommender, "baseline", default=True),
    ModelSpec("popular", MostPopular, "baseline", default=True),
    ModelSpec("popular_recent", MostPopular, "baseline", fixed={"window_days": 30}, default=True, hybrid=True),
    ModelSpec("item_knn", ItemKNN, "cf", default=True, hybrid=True),
    ModelSpec("user_knn", UserKNN, "cf", grid={"k_neighbors": [50, 200]}, default=True, hybrid=True),
    ModelSpec("ease", EASE, "cf", grid={"lam": [50.0, 200.0, 500.0, 2000.0]}, default=True, hybrid=True),
    ModelSpec("als", ALS, "cf", grid={"regularization": [0.1, 1.0, 10.0]}, default=True, hybrid=True),
    ModelSpec("bpr", BPR, "cf", default=True, hybrid=True),
    ModelSpec("svd", SurpriseRecommender, "cf", fixed={"algo": "SVD"}, needs=frozenset({"ratings"})),
    ModelSpec("svdpp", SurpriseRecommender, "cf", fixed={"algo": "SVDpp"}, needs=frozenset({"ratings"})),
    ModelSpec("baselineonly", SurpriseRecommender, "cf", fixed={"algo": "BaselineOnly"},
              needs=frozenset({"ratings"})),
    ModelSpec("content", ContentRecommender, "content", hybrid=True, params_from="content"),
    ModelSpec("basket", BasketRecommender, "basket", needs=frozenset({"baskets"}), hybrid=True, params_from="basket"),
    ModelSpec("cluster_trending", ClusterTrendingRecommender, "context", hybrid=True,
              params_from="context.cluster_trending"),
    ModelSpec("seasonal", SeasonalRecommender, "context", hybrid=True, params_from="context.seasonal"),
    ModelSpec("price_affinity", PriceAffinityRecommender, "context", needs=frozenset({"prices"}), hybrid=True,
              params_from="context.price_affinity"),
)


def get(name: str) -> ModelSpec:
    """Return the entry of model ``name``; :class:`ConfigError` naming the registered models when there is none."""
    if name not in MODELS:
        raise ConfigError(f"model '{name}' is not registered; registered: {list(MODELS)} "
                          "(register a model in workbench.recommend.registry.MODELS)")
    return MODELS[name]


def names(families=None, needs=None) -> list[str]:
    """Return the registered model names (registry order), of ``families`` only and needing ``needs`` when given."""
    return [n for n, s in MODELS.items() if (families is None or s.family in families)
            and (needs is None or needs in s.needs)]


def families() -> dict[str, str]:
    """Return ``{model name: family}`` of every registered model (the leaderboard's families)."""
    return {n: s.family for n, s in MODELS.items()}


def build(name: str, params: Mapping | None = None, strict: bool = True) -> Recommender:
    """Return the unfitted model ``name`` with ``params`` over its fixed arguments (see :meth:`ModelSpec.build`)."""
    return get(name).build(params, strict=strict)
