"""Headless Chromium for the HTML pages (the lessons and the report), driven by Playwright.

The browser is Debian's Chromium (`/usr/bin/chromium`, or the file named by NATURAL_TASKS_CHROMIUM), not a
download: `.ci/run` installs it before the test command. Without it the page tests skip with one line saying
how to get it, except under CI=true, where its absence is a failure. Each test's screenshot is kept in
build/test-artifacts/ (the last run's).
"""

import os
import pathlib
import shutil

import pytest

ARTIFACTS = pathlib.Path(__file__).resolve().parents[2] / "build" / "test-artifacts"
#: As the machine's own probe starts it: no sandbox (root in a container), no GPU, and none of the background
#: connections a closed network refuses.
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]  # fmt: skip


def chromium_path() -> str | None:
    named = os.environ.get("NATURAL_TASKS_CHROMIUM")
    if named:
        return named if os.access(named, os.X_OK) else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def browser():
    exe = chromium_path()
    if exe is None:
        why = ("headless Chromium not found: install Debian's package (sudo apt-get install chromium) or set "
               "NATURAL_TASKS_CHROMIUM to a Chrome/Chromium binary")  # fmt: skip
        if os.environ.get("CI", "").lower() in ("true", "1"):
            pytest.fail(why)
        pytest.skip(why)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=exe, args=FLAGS)
        yield b
        b.close()


@pytest.fixture
def open_page(browser, request):
    """open_page(path) -> a Playwright Page showing the HTML file `path`, its Bokeh document (if any) rendered;
    its screenshot is written to build/test-artifacts/<test name>.png when the test ends."""
    pages = []
    errors: list[str] = []

    def open_(path: pathlib.Path, bokeh: bool = True):
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("pageerror", lambda err: errors.append(str(err)))
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        # a callable: Playwright's glob "http*://**" matches no URL, so a page could load Bokeh from a CDN unseen
        page.route(lambda url: url.startswith(("http://", "https://")),
                   lambda route: (errors.append(f"the page asked the network for {route.request.url}"),
                                  route.abort()))  # fmt: skip
        page.goto(pathlib.Path(path).resolve().as_uri())
        if bokeh:
            page.wait_for_function("window.Bokeh && Bokeh.documents.length > 0 && Bokeh.index && "
                                   "Object.keys(Bokeh.index).length > 0", timeout=30_000)  # fmt: skip
        pages.append(page)
        return page

    yield open_
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for i, page in enumerate(pages):
        name = request.node.name.replace("/", "_").replace("[", "-").replace("]", "")
        page.screenshot(path=str(ARTIFACTS / f"{name}{'' if i == 0 else f'-{i}'}.png"), full_page=True)
        page.close()
    assert not errors, f"the page reported errors: {errors}"
