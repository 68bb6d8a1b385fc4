"""The run folder's life cycle: nothing of a good run is lost when a run fails, is stopped or is killed.

A run writes into ``.<name>.tmp/`` beside ``<name>/`` and swaps it in only when every notebook is done.

* failed or stopped (an error, Ctrl-C, SIGTERM): the partial run is moved to ``<name>.failed/`` with a
  ``FAILED.txt`` saying why; ``<name>/`` is untouched;
* killed (SIGKILL, power loss): nothing can run at that moment, so the next run (or :func:`recover`)
  finds the stale ``.<name>.tmp/`` (its runner process is gone) and moves it to ``<name>.failed/``; a swap
  cut between its two renames is completed back (``.<name>.old/`` becomes ``<name>/`` again).

A ``.<name>.tmp/`` whose runner is still alive belongs to a concurrent run and is never touched.
"""
from __future__ import annotations

import logging
import os
import shutil
import signal
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from workbench.errors import ConfigError

log = logging.getLogger(__name__)

#: inside the temporary run folder: the runner's process id (removed before the swap)
PID_FILE = ".runner.pid"
#: inside ``<name>.failed/``: why the run did not finish
FAILED_NOTE = "FAILED.txt"


class RunStopped(BaseException):
    """The runner received SIGTERM (a BaseException, like KeyboardInterrupt, so no ``except Exception`` eats it)."""


def tmp_dir(out_dir: Path) -> Path:
    """The temporary folder a run of ``out_dir`` writes into."""
    return out_dir.parent / f".{out_dir.name}.tmp"


def old_dir(out_dir: Path) -> Path:
    """Where the previous run waits during the swap."""
    return out_dir.parent / f".{out_dir.name}.old"


def failed_dir(out_dir: Path) -> Path:
    """Where a run that did not finish is kept."""
    return out_dir.parent / f"{out_dir.name}.failed"


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def runner_pid(tmp: Path) -> int | None:
    """The process id recorded in a temporary run folder, if any."""
    try:
        return int((tmp / PID_FILE).read_text().strip())
    except (OSError, ValueError):
        return None


def keep_failed(tmp: Path, out_dir: Path, why: str) -> Path:
    """Move the partial run ``tmp`` to ``<name>.failed/`` (replacing an older one) with a note saying ``why``."""
    failed = failed_dir(out_dir)
    if failed.exists():
        shutil.rmtree(failed)
    (tmp / PID_FILE).unlink(missing_ok=True)
    stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
    (tmp / FAILED_NOTE).write_text(f"{stamp}\n{why}\n")
    tmp.rename(failed)
    return failed


def recover(out_dir: Path) -> Path | None:
    """Tidy what a killed run of ``out_dir`` left behind; return the ``.failed`` folder if one was made.

    Raises :class:`ConfigError` if another live run is writing the same output folder.
    """
    out_dir = Path(out_dir)
    old = old_dir(out_dir)
    if old.exists():
        if out_dir.exists():
            shutil.rmtree(old)
        else:  # killed between the swap's two renames: the previous good run comes back
            old.rename(out_dir)
            log.warning("restored %s from an interrupted swap", out_dir)
    tmp = tmp_dir(out_dir)
    if not tmp.exists():
        return None
    pid = runner_pid(tmp)
    if pid is not None and _alive(pid) and pid != os.getpid():
        raise ConfigError(f"another run (process {pid}) is writing {out_dir} (its work is in {tmp}); wait for it "
                          f"to finish or stop it, or choose another --out")
    who = f"process {pid}" if pid is not None else "an earlier runner"
    failed = keep_failed(tmp, out_dir, f"interrupted: the run by {who} stopped without finishing (killed?); "
                                       "moved here by the next run. The last complete run is untouched.")
    log.warning("an interrupted run of %s was found and moved to %s", out_dir.name, failed)
    return failed


def claim(tmp: Path) -> None:
    """Mark ``tmp`` as being written by this process."""
    (tmp / PID_FILE).write_text(f"{os.getpid()}\n")


def release(tmp: Path) -> None:
    """Remove this process's mark before ``tmp`` becomes the run folder."""
    (tmp / PID_FILE).unlink(missing_ok=True)


def _raise_stopped(signum, frame):
    raise RunStopped(f"stopped by signal {signal.Signals(signum).name}")


@contextmanager
def stop_on_sigterm():
    """Within the block SIGTERM raises :class:`RunStopped` (so the partial run is kept); main thread only."""
    try:
        previous = signal.signal(signal.SIGTERM, _raise_stopped)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
