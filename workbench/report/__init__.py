"""Reporting: recording metrics/artifacts (record), rendering HTML (render), comparing runs (compare)."""
from workbench.report.record import RunRecorder, to_jsonable

__all__ = ["RunRecorder", "to_jsonable"]
