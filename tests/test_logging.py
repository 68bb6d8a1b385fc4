"""The package's log lines go to the stderr of the moment, not to the one there was when logging was set up."""
import io, logging, sys
from workbench.context import setup_logging
def test_log_lines_follow_the_current_stderr(monkeypatch):
    setup_logging()
    first = io.StringIO(); monkeypatch.setattr(sys, "stderr", first)
    logging.getLogger("workbench.x").info("one")
    first.close()
    second = io.StringIO(); monkeypatch.setattr(sys, "stderr", second)
    logging.getLogger("workbench.x").info("two")
    assert second.getvalue() == "INFO workbench.x: two\n"
