"""Notebooks side by side: the order their needs allow, at most ``jobs`` at once, a failure stops the run."""
import threading
import time
from pathlib import Path

import pytest

from workbench import schedule
from workbench.lanes import NotebookFailed, NotebookLanes

PROJECT = [Path(f"{name}.ipynb") for name in sorted(schedule.NEEDS)]


class FakeStarter:
    """Kernels that are only names: records starts, stops and kills."""

    def __init__(self):
        self.started, self.stopped, self.killed = [], [], []

    def start(self, notebook, env=None):
        self.started.append(notebook.name)
        return {"notebook": notebook.name, "killed": threading.Event()}

    def stop(self, km):
        self.stopped.append(km["notebook"])

    def kill(self, km):
        self.killed.append(km["notebook"])
        km["killed"].set()


class Timeline:
    """An ``execute`` that sleeps per notebook and records when each ran and how many ran at once."""

    def __init__(self, seconds=None, fail=None):
        self.seconds = seconds or {}
        self.fail = fail
        self.spans: dict[str, tuple[float, float]] = {}
        self.lock = threading.Lock()
        self.now_running = 0
        self.most_at_once = 0

    def __call__(self, notebook, km):
        with self.lock:
            self.now_running += 1
            self.most_at_once = max(self.most_at_once, self.now_running)
        t0 = time.perf_counter()
        try:
            if notebook.name[:2] == self.fail:
                raise ValueError(f"boom in {notebook.name}")
            if km["killed"].wait(self.seconds.get(notebook.name[:2], 0.02)):
                raise RuntimeError("kernel died")
        finally:
            with self.lock:
                self.now_running -= 1
                self.spans[notebook.name[:2]] = (t0, time.perf_counter())


def test_every_notebook_starts_after_the_notebooks_it_reads_and_at_most_jobs_run_at_once():
    timeline = Timeline({"02": 0.3, "05": 0.3, "01": 0.1})
    starter = FakeStarter()
    results = list(NotebookLanes(starter, 2, timeline).run(PROJECT))
    assert sorted(r.notebook.name for r in results) == sorted(nb.name for nb in PROJECT)
    for nb in PROJECT:
        begin = timeline.spans[nb.name[:2]][0]
        for need in schedule.needs(nb.name, [p.name for p in PROJECT]):
            assert timeline.spans[need][1] <= begin, (nb.name, need)
    assert timeline.most_at_once == 2  # 01, 03, 04 and 08 need not wait for 02
    assert sorted(starter.stopped) == sorted(starter.started) == sorted(nb.name for nb in PROJECT)


def test_one_job_runs_one_notebook_at_a_time():
    timeline = Timeline()
    list(NotebookLanes(FakeStarter(), 1, timeline).run(PROJECT))
    assert timeline.most_at_once == 1
    order = sorted(timeline.spans, key=lambda p: timeline.spans[p][0])
    assert order.index("08") < order.index("07")  # the report notebook reads every stage, the clickstream's too


def test_a_failure_stops_the_notebooks_beside_it_and_names_the_one_that_failed():
    timeline = Timeline({"02": 5.0}, fail="01")
    starter = FakeStarter()
    t0 = time.perf_counter()
    with pytest.raises(NotebookFailed) as err:
        list(NotebookLanes(starter, 2, timeline).run(PROJECT))
    assert err.value.notebook.name == "01_rfm_segmentation.ipynb" and "boom" in str(err.value.error)
    assert "02_collaborative_filtering.ipynb" in starter.killed
    assert time.perf_counter() - t0 < 4  # notebook 02 did not run to its end
    assert "05_hybrid_ablation.ipynb" not in timeline.spans  # a notebook that reads the failed one never starts
    assert sorted(starter.stopped) == sorted(starter.started)


def test_a_notebook_of_ones_own_waits_for_every_notebook_before_it():
    own = [Path("00_load.ipynb"), Path("01_next.ipynb"), Path("02_more.ipynb")]
    assert schedule.needs("02_more.ipynb", [nb.name for nb in own]) == {"00", "01"}
    timeline = Timeline()
    list(NotebookLanes(FakeStarter(), 2, timeline).run(own))
    assert timeline.spans["01"][1] <= timeline.spans["02"][0] and timeline.most_at_once == 1


def test_declared_needs_are_earlier_project_notebooks_and_form_no_cycle():
    names = {name[:2] for name in schedule.NEEDS}
    ended: set[str] = set()
    waiting = [nb.name for nb in PROJECT]
    while waiting:
        nxt = schedule.next_to_start(waiting, ended, set(), waiting + [f"{p}_x.ipynb" for p in ended])
        assert nxt is not None, f"{waiting} wait for each other"
        waiting.remove(nxt)
        ended.add(nxt[:2])
    for name, wanted in schedule.NEEDS.items():
        assert set(wanted) <= names - {name[:2]}, name
