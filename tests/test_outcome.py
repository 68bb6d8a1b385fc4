"""How a notebook ended, in the user's terms: the failure message and the tidying of a skipped notebook."""
import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from workbench.outcome import (PAPERMILL_ERROR_TAG, failure_message, mark_skipped, read_failure, section_seconds,
                               skip_of)


class FakePapermillError(Exception):
    def __init__(self, ename, evalue, traceback=(), exec_count=3):
        self.ename, self.evalue, self.traceback, self.exec_count = ename, evalue, list(traceback), exec_count


def _executed(tmp_path, ename, evalue):
    nb = new_notebook()
    banner = new_markdown_cell("<span style='color:red'>An Exception was encountered</span>")
    banner.metadata["tags"] = [PAPERMILL_ERROR_TAG]
    cell = new_code_cell("fit()")
    cell.outputs = [new_output("display_data", data={"text/markdown": "> **Skipped: `pricing`.** why"}),
                    new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])]
    nb.cells = [banner, new_markdown_cell("# 06 · Dynamic pricing\nintro"), new_code_cell("x = 1"),
                new_markdown_cell("## Demand model\ntext"), cell, new_markdown_cell("## Later")]
    path = tmp_path / "06_dynamic_pricing.ipynb"
    nbformat.write(nb, str(path))
    return path


def test_bare_python_error_names_notebook_section_and_place(tmp_path):
    path = _executed(tmp_path, "IndexError", "list index out of range")
    tb = ['\x1b[0;31mIndexError\x1b[0m Traceback', 'File \x1b[0;32m/x/site/workbench/pricing/demand.py:41\x1b[0m, '
          'in \x1b[0;36mtime_split\x1b[0;34m(table, test_periods)\x1b[0m']
    msg = failure_message(read_failure(path.name, path, FakePapermillError("IndexError", "list index out of range", tb)))
    assert msg.startswith("notebook 06_dynamic_pricing.ipynb (06 · Dynamic pricing) stopped in section "
                          "'Demand model', cell 3: IndexError: list index out of range")
    assert "unexpected error inside the workbench at workbench/pricing/demand.py:41 in time_split" in msg


def test_workbench_error_is_reported_as_a_rule_not_a_bug(tmp_path):
    path = _executed(tmp_path, "DataValidationError", "transactions.quantity: rule 'has_sales' broken")
    msg = failure_message(read_failure(path.name, path, FakePapermillError("DataValidationError", "x")))
    assert "DataValidationError: x" in msg and "unexpected" not in msg


def test_skipped_notebook_is_tidied(tmp_path):
    path = _executed(tmp_path, "StageSkipped", "pricing skipped: why")
    assert skip_of(FakePapermillError("StageSkipped", "pricing skipped: why")) == "pricing skipped: why"
    assert skip_of(FakePapermillError("ValueError", "boom")) is None
    mark_skipped(path)
    nb = nbformat.read(str(path), as_version=4)
    assert not any(PAPERMILL_ERROR_TAG in c.metadata.get("tags", []) for c in nb.cells)
    outs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert [o.output_type for o in outs] == ["display_data"]


def test_section_seconds_sum_cell_durations_under_their_heading(tmp_path):
    def code(seconds):
        cell = new_code_cell("x = 1")
        if seconds is not None:
            cell.metadata["papermill"] = {"duration": seconds}
        return cell

    nb = new_notebook(cells=[code(0.5), new_markdown_cell("# 02 · Title\ntext"), code(1.25),
                             new_markdown_cell("## Split"), code(2.0), new_markdown_cell("no heading here"),
                             code(3.0), code(None), new_markdown_cell("## Fit"), code(4.5)])
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, str(path))
    assert section_seconds(path) == {"(setup)": 0.5, "02 · Title": 1.25, "Split": 5.0, "Fit": 4.5}


def test_memory_error_says_out_of_memory_not_a_bug(tmp_path):
    path = _executed(tmp_path, "MemoryError", "Unable to allocate 8.00 GiB for an array")
    msg = failure_message(read_failure(path.name, path, FakePapermillError("MemoryError", "Unable to allocate")))
    assert "section 'Demand model', cell 3: MemoryError" in msg and "ran out of memory" in msg
    assert "unexpected error" not in msg
