"""How a notebook of a run ended, in the user's terms: completed, skipped (with the reason) or failed.

Papermill stops a notebook at the first cell that raises. Two cases are told apart here:

* a :class:`~workbench.errors.StageSkipped` reached the top of a cell: the stage said why it cannot work on
  this data (the kernel already recorded ``{"skipped": reason}`` in ``metrics.json`` and showed it as
  Markdown). :func:`mark_skipped` tidies the executed notebook (no error box, no papermill banner) and the
  runner goes on with the next notebook;
* anything else: :func:`failure_message` names the notebook (its title), the section (the heading above the
  failed cell), the cell and the reason, and says whether it is a rule of the data or params (a
  :class:`~workbench.errors.WorkbenchError`) or an unexpected error inside the workbench, with the place in
  the package where it was raised;
* a kernel that died (nbclient's ``DeadKernelError``: no error output, the process is gone) is reported in the
  cell that was running when it died, with how it ended when the runner saw its exit code (a kill by SIGKILL is
  what the out-of-memory killer does); a ``MemoryError`` inside a cell is reported as running out of memory.
"""
from __future__ import annotations

import re
import signal
from dataclasses import dataclass
from pathlib import Path

import nbformat

from workbench import errors

#: the exception name a skipped stage ends its notebook with
SKIP_ENAME = errors.StageSkipped.__name__
#: papermill's tag on the banner cells it inserts into a failed notebook
PAPERMILL_ERROR_TAG = "papermill-error-cell-tag"
#: nbclient's exception when the kernel process is gone
DEAD_KERNEL = "DeadKernelError"
#: where the settings that bound a stage's memory are listed
MEMORY_GUIDE = "docs/own-data.md (settings that depend on the shop's size)"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_FRAME = re.compile(r'File "?([^\s",]*workbench[/\\][^\s",]+\.py)"?, line (\d+)(?:, in (\S+))?|'
                    r'([^\s"]*workbench[/\\][^\s:"]+\.py):(\d+)(?:, in (\S+)| in (\S+))?')


def _workbench_errors() -> set[str]:
    seen, todo = set(), [errors.WorkbenchError]
    while todo:
        cls = todo.pop()
        seen.add(cls.__name__)
        todo.extend(cls.__subclasses__())
    return seen


@dataclass
class Failure:
    """Where and why a notebook stopped."""

    notebook: str
    title: str | None
    section: str | None
    cell: int | None
    ename: str
    evalue: str
    where: str | None  # innermost workbench frame, "workbench/segment/clv.py:213 in fit"
    exit_code: int | None = None  # the dead kernel's exit code when the runner saw it (negative: killed by a signal)

    @property
    def ours(self) -> bool:
        """Whether the error is one the workbench raises on purpose (a rule of the data or the params)."""
        return self.ename in _workbench_errors()

    @property
    def dead_kernel(self) -> bool:
        """Whether the kernel process died (rather than a cell raising)."""
        return self.ename == DEAD_KERNEL


def _heading(text: str) -> str | None:
    for line in text.splitlines():
        if line.lstrip().startswith("#"):
            return line.lstrip("# ").strip()
    return None


def _where(traceback: list[str]) -> str | None:
    found = None
    for line in traceback or []:
        for m in _FRAME.finditer(_ANSI.sub("", line)):
            path, lineno = (m.group(1), m.group(2)) if m.group(1) else (m.group(4), m.group(5))
            func = (m.group(3) or m.group(6) or m.group(7) or "").split("(")[0]
            rel = path[path.rfind("workbench"):].replace("\\", "/")
            found = f"{rel}:{lineno}" + (f" in {func}" if func else "")
    return found


def read_failure(nb_name: str, executed: Path | None, exc: BaseException, exit_code: int | None = None) -> Failure:
    """The :class:`Failure` of ``exc`` (papermill's error), located in the executed notebook when it exists;
    ``exit_code`` is the kernel process's when it died and the runner saw it."""
    ename = getattr(exc, "ename", type(exc).__name__)
    evalue = getattr(exc, "evalue", str(exc))
    title = section = exec_count = None
    if executed is not None and Path(executed).exists():
        try:
            nb = nbformat.read(str(executed), as_version=4)
        except Exception:  # an unreadable notebook still gets a message
            nb = None
        if nb is not None:
            for cell in nb.cells:
                if cell.cell_type == "markdown" and PAPERMILL_ERROR_TAG not in cell.metadata.get("tags", []):
                    title = _heading(cell.source)
                    if title:
                        break
            failed = _failed_cell(nb.cells, dead=ename == DEAD_KERNEL)
            for i, cell in enumerate(nb.cells):
                if failed is not None and i > failed:
                    break
                if cell.cell_type == "markdown" and PAPERMILL_ERROR_TAG not in cell.metadata.get("tags", []):
                    section = _heading(cell.source) or section
            if failed is not None and getattr(exc, "exec_count", None) is None:
                # a dead kernel never answered: the cell's number is its place among the code cells run
                exec_count = sum(c.cell_type == "code" for c in nb.cells[:failed + 1])
    if section == title:
        section = None
    return Failure(nb_name, title, section, getattr(exc, "exec_count", None) or exec_count, ename, evalue,
                   _where(getattr(exc, "traceback", None) or []), exit_code)


def _failed_cell(cells, dead: bool) -> int | None:
    """Index of the cell the notebook stopped in: the one with an error output (or papermill's exception
    mark), or, for a dead kernel, the last code cell papermill started."""
    started = None
    for i, cell in enumerate(cells):
        if cell.cell_type != "code":
            continue
        meta = cell.metadata.get("papermill", {})
        if any(o.get("output_type") == "error" for o in cell.get("outputs", [])) or meta.get("exception"):
            return i
        if meta.get("start_time"):
            started = i
    return started if dead else None


def section_seconds(executed: Path) -> dict[str, float]:
    """Seconds per section of an executed notebook: papermill's cell durations summed under the heading above
    each code cell (code before the first heading counts under the notebook's title)."""
    nb = nbformat.read(str(executed), as_version=4)
    out: dict[str, float] = {}
    section = "(setup)"
    for cell in nb.cells:
        if cell.cell_type == "markdown" and PAPERMILL_ERROR_TAG not in cell.metadata.get("tags", []):
            section = _heading(cell.source) or section
        elif cell.cell_type == "code":
            seconds = (cell.metadata.get("papermill") or {}).get("duration")
            if seconds is not None:
                out[section] = round(out.get(section, 0.0) + float(seconds), 4)
    return out


def failure_message(failure: Failure) -> str:
    """One paragraph for the terminal: notebook, section, cell, reason, and what to do."""
    nb = f"notebook {failure.notebook}" + (f" ({failure.title})" if failure.title else "")
    at = f"section '{failure.section}', " if failure.section else ""
    cell = f"cell {failure.cell}" if failure.cell is not None else "a cell"
    if failure.dead_kernel:
        return f"{nb} stopped in {at}{cell}: {dead_kernel_reason(failure.exit_code)}"
    msg = f"{nb} stopped in {at}{cell}: {failure.ename}: {failure.evalue}"
    if failure.ours:
        return msg
    if failure.ename == "MemoryError":
        return (msg + f". The cell ran out of memory (the machine's, or a limit such as ulimit -v): give the stage "
                f"less to hold; the settings that bound memory are listed in {MEMORY_GUIDE}")
    where = f" at {failure.where}" if failure.where else ""
    return (msg + f". This is an unexpected error inside the workbench{where}, not a rule of your data or params; "
            "please report it with the executed notebook")


def dead_kernel_reason(exit_code: int | None) -> str:
    """What a dead kernel's exit code says, in the user's terms."""
    if exit_code is not None and exit_code < 0:
        try:
            name = signal.Signals(-exit_code).name
        except ValueError:
            name = f"signal {-exit_code}"
        how = f"the kernel was killed by {name} while this cell ran"
        if -exit_code == signal.SIGKILL:
            how += (": out of memory, most likely (the operating system's out-of-memory killer ends a process "
                    "with SIGKILL when the machine runs out of memory)")
    elif exit_code is not None:
        how = f"the kernel exited with code {exit_code} while this cell ran"
    else:
        how = "the kernel died while this cell ran (its exit code is unknown; running out of memory is the usual cause)"
    return (f"{how}. No error was raised inside the cell, so there is no traceback; the settings that bound a "
            f"stage's memory are listed in {MEMORY_GUIDE}")


def skip_of(exc: BaseException) -> str | None:
    """The reason text when papermill's error is a stage that skipped itself, else ``None``."""
    return getattr(exc, "evalue", None) if getattr(exc, "ename", None) == SKIP_ENAME else None


def mark_skipped(executed: Path) -> None:
    """Tidy a notebook that ended with a skipped stage: drop papermill's error banner and the error output
    (the kernel already showed the reason as Markdown), so the notebook reads as ended early, not failed."""
    nb = nbformat.read(str(executed), as_version=4)
    nb.cells = [c for c in nb.cells if PAPERMILL_ERROR_TAG not in c.metadata.get("tags", [])]
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        outs = cell.get("outputs", [])
        if any(o.get("output_type") == "error" and o.get("ename") == SKIP_ENAME for o in outs):
            cell.outputs = [o for o in outs if o.get("output_type") != "error"]
            cell.metadata.setdefault("papermill", {})["exception"] = False
    nb.metadata.setdefault("papermill", {})["exception"] = None
    nbformat.write(nb, str(executed))
