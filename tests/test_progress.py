"""Progress of long steps: kept in the executed notebook and echoed on the command line by the runner."""
import nbformat
from nbformat.v4 import new_code_cell, new_notebook

from workbench.runner import discover, run


def test_runner_keeps_and_echoes_notebook_progress(tmp_path, capsys):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    real = nbformat.read(str(discover()[0]), as_version=4)
    params = next(c for c in real.cells if "parameters" in c.metadata.get("tags", []))
    nb = new_notebook(metadata=real.metadata)
    nb.cells = [params, new_code_cell("from workbench.progress import tqdm\n"
                                      "import importlib; importlib.import_module('tqdm.auto')  # as a library does\n"
                                      "for _ in tqdm(range(3), desc='long step'):\n    pass")]
    nbformat.write(nb, str(folder / "00_progress.ipynb"))
    out = run("default", out=tmp_path / "run", notebooks=folder, render=False)
    executed = nbformat.read(str(out / "00_progress.ipynb"), as_version=4)
    stderr = "".join(o.get("text", "") for c in executed.cells for o in c.get("outputs", [])
                     if o.get("name") == "stderr")
    assert "long step: 100%|██████████| 3/3" in stderr
    assert "IProgress" not in stderr
    assert "long step: 100%" in capsys.readouterr().err
