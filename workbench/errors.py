"""Exceptions raised by the workbench. Catch :class:`WorkbenchError` to catch them all."""
from __future__ import annotations


class WorkbenchError(Exception):
    """Base class of every error the workbench raises on purpose."""


class ConfigError(WorkbenchError):
    """A params file or override is missing, malformed or names an unknown value."""


class DataSourceError(WorkbenchError):
    """A data source (file, folder, database, data set) cannot be found or read."""


class DataValidationError(WorkbenchError):
    """Input data breaks a rule of the data contract.

    The message names the table, the column, the rule, how many rows break it and a few examples.
    """

    def __init__(self, table: str, column: str | None, rule: str, n_rows: int, examples=(), hint: str = ""):
        self.table, self.column, self.rule, self.n_rows = table, column, rule, n_rows
        self.examples = list(examples)[:5]
        where = f"{table}.{column}" if column else table
        msg = f"{where}: rule '{rule}' broken by {n_rows} row(s)"
        if self.examples:
            msg += f"; examples: {self.examples}"
        if hint:
            msg += f". {hint}"
        super().__init__(msg)


class InvalidShopError(DataValidationError):
    """The shop as a whole cannot be analysed: an empty table, a table whose every row was quarantined,
    transactions without a single sale, or no feedback at all (no transactions, events or ratings).

    Raised at load, before any stage runs; the message names the table, the column and the rule.
    """


class NotebookExecutionError(WorkbenchError):
    """A notebook failed during a run; the message names the notebook and the cell."""


class PopulationError(WorkbenchError):
    """A model's saved lists do not cover the evaluation population every model is scored on.

    The message names the model, how many of the population's customers its lists cover, and what to rerun.
    """


class NotFittedError(WorkbenchError, ValueError):
    """A model was used before ``fit``."""


class StageSkipped(WorkbenchError):
    """A stage cannot do its job on this data (too few buyers, one purchase day, no price variation ...).

    ``stage`` is the ``metrics.json`` key it records under (dotted for a part of a stage, e.g.
    ``segmentation.clv``); ``reason`` says in the user's terms what is missing and which limit decides.
    The run goes on: the stage records ``{"skipped": reason}`` and the report lists it first.
    """

    def __init__(self, stage: str, reason: str):
        self.stage, self.reason = stage, reason
        super().__init__(f"{stage} skipped: {reason}")


class ItemsetBudgetError(WorkbenchError):
    """Mining frequent itemsets at the support the params fix would build more itemsets than the memory
    budget (``basket.max_itemsets``) allows; the message gives the count and the lowest support that fits."""
