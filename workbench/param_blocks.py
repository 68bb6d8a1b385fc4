"""Every block of a params file and the one reader of each, checked before any work.

:func:`check` reads every block through the function the stages read it with (the strict merge
:func:`workbench.config.merge_block`, or a settings dataclass), so a misspelt key in any block stops the run at
its start with an error naming the block, the key and the known keys, whichever notebooks run.
"""
from __future__ import annotations

from workbench import segment, tracking
from workbench.config import EXTENDS_KEY, SOURCE_KEY, stage
from workbench.data.bots import bot_rules
from workbench.data.sessions import session_settings
from workbench.errors import ConfigError
from workbench.evaluate import experiment
from workbench.evaluate.next_item import next_item_settings
from workbench.pricing import pipeline
from workbench.recommend import basket, content, context, hybrid, protocol
from workbench.segment import clusters
from workbench.stages import LIMITS_KEY, Limits

#: the top-level keys of a params file besides the blocks of :func:`readers` (``extends`` is resolved on load)
SCALARS = ("name", "seed", "notebooks", "data", "report", SOURCE_KEY, EXTENDS_KEY)


def readers() -> dict:
    """Return ``{block: function(params) that reads it}`` for every stage block of a params file."""
    def by_defaults(name, defaults):
        return lambda params: stage(params, name, defaults)

    return {
        "segmentation": lambda params: clusters.settings(stage(params, "segmentation", segment.DEFAULTS)),
        "evaluation": experiment.settings,
        "recommenders": lambda params: protocol.settings(params.get("recommenders"),
                                                         experiment.settings(params).source),
        "content": by_defaults("content", content.DEFAULTS),
        "context": by_defaults("context", context.DEFAULTS),
        "basket": by_defaults("basket", basket.DEFAULTS),
        "hybrid": lambda params: hybrid.component_specs(stage(params, "hybrid", hybrid.DEFAULTS), params),
        "pricing": lambda params: pipeline.settings(params.get("pricing")),
        "tracking": by_defaults("tracking", tracking.DEFAULTS),
        LIMITS_KEY: Limits.from_params,
        "clickstream": lambda params: (session_settings(params), bot_rules(params), next_item_settings(params)),
    }


def check(params: dict) -> None:
    """Raise :class:`ConfigError` when ``params`` has a top-level key that is no block, or any block a key its
    reader does not know (naming the block, the key and the known keys)."""
    blocks = readers()
    unknown = sorted(str(k) for k in params if k not in blocks and k not in SCALARS)
    if unknown:
        raise ConfigError(f"params: unknown block(s) {unknown}; known: {sorted([*blocks, *SCALARS[:5]])}")
    for read in blocks.values():
        read(params)
