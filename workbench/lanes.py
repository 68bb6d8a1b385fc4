"""Running a run's notebooks side by side, each in its own fresh kernel, in an order their needs allow.

:class:`NotebookLanes` runs up to ``jobs`` notebooks at once. A notebook starts once every notebook it reads has
ended (:mod:`workbench.schedule`); one more kernel than ``jobs`` is started ahead of its turn, so its start-up and
imports overlap with the notebooks that run (:class:`~workbench.kernels.KernelStarter`). Each notebook's kernel is
started, used and shut down by one thread of its own; this module's caller decides nothing but what executing one
notebook means.

A notebook that stops with an error stops the run: the notebooks running beside it are stopped (their kernels
killed) and :class:`NotebookFailed` names the notebook that failed. A notebook whose stage skipped itself
(:func:`workbench.outcome.skip_of`) counts as ended; the run goes on.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from workbench import outcome, schedule
from workbench.errors import ConfigError

log = logging.getLogger(__name__)


class NotebookFailed(Exception):
    """A notebook stopped with an error (not a stated skip): the notebook, the error and the kernel's exit code
    (None while the kernel lived)."""

    def __init__(self, notebook: Path, error: BaseException, exit_code: int | None):
        super().__init__(f"{notebook.name}: {error}")
        self.notebook, self.error, self.exit_code = notebook, error, exit_code


@dataclass
class NotebookResult:
    """One notebook that ended: its seconds, its manifest record and, when its stage skipped itself, the reason."""

    notebook: Path
    seconds: float
    record: dict
    skipped: str | None = None


@dataclass
class _Job:
    notebook: Path
    go: threading.Event = field(default_factory=threading.Event)
    abort: threading.Event = field(default_factory=threading.Event)
    km: object = None
    thread: threading.Thread | None = None
    result: NotebookResult | None = None
    failure: NotebookFailed | None = None
    running: bool = False
    ended: bool = False


class NotebookLanes:
    """Runs notebooks ``jobs`` at a time; ``execute(notebook, kernel_manager)`` runs one notebook in a started
    kernel (papermill) and raises what it raises."""

    def __init__(self, starter, jobs: int, execute: Callable[[Path, object], None]):
        if jobs < 1:
            raise ValueError(f"jobs must be >= 1, got {jobs}")
        self.starter, self.jobs, self.execute = starter, jobs, execute
        self._changed = threading.Condition()

    def run(self, notebooks: list[Path], env: dict | None = None) -> Iterator[NotebookResult]:
        """Run ``notebooks`` and yield each one's result as it ends (the caller records it). Raises
        :class:`NotebookFailed` for the first notebook that failed, after every other kernel is gone."""
        in_run = [nb.name for nb in notebooks]
        waiting = {schedule.prefix(nb): nb for nb in notebooks}
        jobs: dict[str, _Job] = {}
        ended: set[str] = set()
        try:
            while waiting or any(not job.ended or job.result is not None or job.failure is not None
                                 for job in jobs.values()):
                with self._changed:
                    failure = next((job.failure for job in jobs.values() if job.failure is not None), None)
                    if failure is not None:
                        raise failure
                    ended.update(p for p, job in jobs.items() if job.ended)
                    self._start_ahead(waiting, jobs, ended, in_run, env)
                    self._release(jobs, ended, in_run)
                    done = [job for job in jobs.values() if job.result is not None]
                    if waiting and all(job.ended for job in jobs.values()) and not done:
                        raise ConfigError("the notebooks " + ", ".join(nb.name for nb in waiting.values())
                                          + " wait for each other (workbench/schedule.py:NEEDS has a cycle)")
                    if not done:
                        self._changed.wait(timeout=1.0)
                for job in done:
                    result, job.result = job.result, None
                    yield result
        finally:
            self._stop_all(jobs)

    # ---- scheduling (under the condition's lock) ----------------------------------------------------------
    def _start_ahead(self, waiting: dict, jobs: dict, ended: set, in_run: list, env) -> None:
        """Start kernels for notebooks whose turn is near, while fewer than ``jobs + 1`` are alive."""
        while waiting and sum(not job.ended for job in jobs.values()) < self.jobs + 1:
            started = {p for p, job in jobs.items()}
            nxt = schedule.next_to_start([nb.name for nb in waiting.values()], ended, started - ended, in_run)
            if nxt is None:
                return
            nxt = schedule.prefix(nxt)
            job = _Job(waiting.pop(nxt))
            job.thread = threading.Thread(target=self._lane, args=(job, env), name=f"notebook-{nxt}", daemon=True)
            jobs[nxt] = job
            job.thread.start()

    def _release(self, jobs: dict, ended: set, in_run: list) -> None:
        """Let started notebooks whose needs have ended run, in notebook order, while a lane is free."""
        free = self.jobs - sum(job.running for job in jobs.values())
        for prefix in sorted(jobs):
            job = jobs[prefix]
            if free <= 0:
                return
            if not job.go.is_set() and schedule.ready(job.notebook.name, ended, in_run):
                job.running = True
                job.go.set()
                free -= 1

    # ---- one notebook, in its own thread ------------------------------------------------------------------
    def _lane(self, job: _Job, env) -> None:
        nb = job.notebook
        try:
            job.km = self.starter.start(nb, env)
            job.go.wait()
            if job.abort.is_set():
                return
            log.info("notebook %s started", nb.name)
            t0 = time.perf_counter()
            begun = datetime.now(timezone.utc)
            skipped = None
            try:
                self.execute(nb, job.km)
            except Exception as exc:  # papermill raises PapermillExecutionError; keep the evidence
                skipped = outcome.skip_of(exc)
                if skipped is None:
                    if not job.abort.is_set():
                        codes = getattr(job.km, "exit_codes", None)
                        job.failure = NotebookFailed(nb, exc, codes[-1] if codes else None)
                    return
            secs = time.perf_counter() - t0
            job.result = NotebookResult(nb, secs, {
                "notebook": nb.name, "start": begun.isoformat(timespec="seconds"),
                "end": datetime.now(timezone.utc).isoformat(timespec="seconds"), "duration_s": round(secs, 2),
                **({"skipped": skipped} if skipped else {})}, skipped)
            log.info("notebook %s ended in %.1f s", nb.name, secs)
        except BaseException as exc:  # the kernel could not start, or the thread is being torn down
            if not job.abort.is_set():
                job.failure = NotebookFailed(nb, exc, None)
        finally:
            if job.km is not None:
                self.starter.stop(job.km)
            with self._changed:
                job.running = False
                job.ended = True
                self._changed.notify_all()

    def _stop_all(self, jobs: dict) -> None:
        """Stop every notebook still alive (after a failure, Ctrl-C or SIGTERM) and wait for its thread."""
        alive = [job for job in jobs.values() if not job.ended]
        for job in alive:
            job.abort.set()
            job.go.set()
            if job.km is not None:
                self.starter.kill(job.km)
        for job in alive:
            if job.thread is not None:
                job.thread.join(timeout=60)
