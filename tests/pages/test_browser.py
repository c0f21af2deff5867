"""The page tests' browser: it starts, and without it the page tests skip with one line saying how to get it
(a user's machine), except under CI=true, where its absence fails them."""

import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_the_browser_renders_a_page(browser, tmp_path):
    (tmp_path / "p.html").write_text("<p id='x'>2 + 2 = <span>4</span></p>")
    page = browser.new_page()
    page.goto((tmp_path / "p.html").as_uri())
    assert page.inner_text("#x") == "2 + 2 = 4"
    page.close()


def _run_without_browser(ci: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "NATURAL_TASKS_CHROMIUM": "/nonexistent/chromium", "CI": ci}
    env.pop("PYTEST_XDIST_WORKER", None)
    test = "tests/pages/test_browser.py::test_the_browser_renders_a_page"
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rs", test], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=120)  # fmt: skip


def test_without_a_browser_the_page_tests_skip_and_say_how_to_get_one():
    run = _run_without_browser("")
    assert run.returncode == 0, run.stdout
    assert "1 skipped" in run.stdout and "apt-get install chromium" in run.stdout


def test_without_a_browser_under_ci_the_page_tests_fail():
    run = _run_without_browser("true")
    assert run.returncode == 1, run.stdout
    assert "headless Chromium not found" in run.stdout
