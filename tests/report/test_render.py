"""The HTML report opens from disk: every link and image resolves, nothing comes from the network."""
from __future__ import annotations

import json
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlparse

import matplotlib.pyplot as plt
import nbformat
import pytest
import yaml
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from workbench.report import render

PNG_1PX = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")


def _notebook(path: Path, title: str) -> None:
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    params = new_code_cell("params = 'default'")
    params.metadata["tags"] = ["parameters"]
    code = new_code_cell("SECRET_CODE_TEXT = 1\nprint('visible output')")
    code.outputs = [new_output("stream", name="stdout", text="visible output\n"),
                    new_output("stream", name="stderr", text="INFO workbench: noisy log line\n"),
                    new_output("display_data", data={"image/png": PNG_1PX, "text/plain": "<Figure>"})]
    nb.cells = [new_markdown_cell(f"# {title}\nSome $x^2$ maths."), params, code]
    nbformat.write(nb, str(path))


@pytest.fixture
def run_dir(tmp_path, full_metrics):
    d = tmp_path / "default"
    (d / "figures").mkdir(parents=True)
    _notebook(d / "00_data_eda.ipynb", "Data")
    _notebook(d / "07_evaluation_report.ipynb", "Evaluation")
    for name in ("00_sales", "07_model_comparison", "07_pk_curves"):
        fig, ax = plt.subplots(figsize=(2, 1.5))
        ax.plot([0, 1], [0, 1])
        fig.savefig(d / "figures" / f"{name}.png")
        plt.close(fig)
    params = {"name": "default", "seed": 42, "data": {"source": "synthetic"}}
    (d / "params.yaml").write_text(yaml.safe_dump(params))
    (d / "metrics.json").write_text(json.dumps(full_metrics))
    (d / "manifest.json").write_text(json.dumps({
        "params": params, "git_commit": "0123456789abcdef", "data_fingerprint": "fp42", "duration_s": 3.0,
        "versions": {"pandas": "3.1.1", "python": "3.11.7"},
        "notebooks": [{"notebook": "00_data_eda.ipynb", "duration_s": 1.25}]}))
    return d


class _Refs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.refs, self.scripts = [], []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for key in ("href", "src"):
            if a.get(key):
                self.refs.append(a[key])
        if tag == "script" and a.get("src"):
            self.scripts.append(a["src"])


def _refs(page: Path) -> _Refs:
    p = _Refs()
    p.feed(page.read_text(encoding="utf-8"))
    return p


def _unresolved(page: Path) -> list[str]:
    bad = []
    for ref in _refs(page).refs:
        u = urlparse(ref)
        if u.scheme == "data" or ref.startswith("#"):
            continue
        if u.scheme or ref.startswith("//") or not (page.parent / unquote(u.path)).exists():
            bad.append(ref)
    return bad


def test_report_links_and_images_resolve_offline(run_dir):
    index = render.render_run(run_dir)
    assert index == run_dir / "report" / "index.html"
    pages = sorted(p.name for p in (run_dir / "report").glob("*.html"))
    assert pages == ["00_data_eda.html", "07_evaluation_report.html", "index.html"]
    for page in (run_dir / "report").glob("*.html"):
        assert _unresolved(page) == [], page.name
        assert _refs(page).scripts == [], page.name
        text = page.read_text()
        assert "cdnjs" not in text and "unpkg" not in text and "require.min.js" not in text
    refs = _refs(index).refs
    assert "00_data_eda.html" in refs and "07_evaluation_report.html" in refs
    assert "../figures/00_sales.png" in refs and "../metrics.json" in refs
    assert sum(r.startswith("data:image/png;base64,") for r in refs) == 2  # the 07 figures inline
    assert render.broken_refs(index) == []


def test_index_holds_summary_tables_and_manifest(run_dir):
    text = render.render_run(run_dir).read_text()
    assert "<em>ease</em> with NDCG@10 0.160" in text
    assert "Truth recovery" in text and "Ranking models" in text
    assert "0123456789abcdef" in text and "fp42" in text and "3.1.1" in text
    assert "code hidden" in text


def test_code_hidden_by_default_shown_on_request(run_dir):
    render.render_run(run_dir)
    page = (run_dir / "report" / "00_data_eda.html").read_text()
    assert "visible output" in page and "SECRET_CODE_TEXT" not in page
    assert "noisy log line" not in page
    assert "data:image/png;base64," in page
    render.render_run(run_dir, show_code=True)
    assert "SECRET_CODE_TEXT" in (run_dir / "report" / "00_data_eda.html").read_text()


def test_show_code_comes_from_run_params(run_dir):
    params = yaml.safe_load((run_dir / "params.yaml").read_text())
    params["report"] = {"show_code": True}
    (run_dir / "params.yaml").write_text(yaml.safe_dump(params))
    render.render_run(run_dir)
    assert "SECRET_CODE_TEXT" in (run_dir / "report" / "07_evaluation_report.html").read_text()
    render.render_run(run_dir, show_code=False)
    assert "SECRET_CODE_TEXT" not in (run_dir / "report" / "07_evaluation_report.html").read_text()


def test_broken_refs_detects_missing_and_remote(tmp_path):
    page = tmp_path / "p.html"
    (tmp_path / "ok.png").write_bytes(b"x")
    page.write_text("<a href='ok.png'>a</a><img src='missing.png'><script src='https://cdn.example/x.js'></script>"
                    "<a href='#top'>t</a><img src='data:image/png;base64,AAAA'>")
    assert render.broken_refs(page) == ["missing.png", "https://cdn.example/x.js"]


def test_missing_run_dir_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="make run"):
        render.render_run(tmp_path / "nope")
    assert render.main([str(tmp_path / "nope")]) == 2


def test_headless_browser_opens_report(run_dir, tmp_path, chromium_path):
    browser = chromium_path
    index = render.render_run(run_dir)
    res = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom",
                          index.as_uri()], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "Workbench run: default" in res.stdout and "07_model_comparison" in res.stdout
    page = (run_dir / "report" / "07_evaluation_report.html").as_uri()
    res = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", page],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0 and "visible output" in res.stdout


def test_unreadable_notebook_is_listed_not_fatal(run_dir):
    (run_dir / "05_broken.ipynb").write_text("{not json")
    index = render.render_run(run_dir)
    text = index.read_text()
    assert "05_broken.ipynb could not be rendered" in text
    assert (run_dir / "report" / "00_data_eda.html").exists() and render.broken_refs(index) == []
