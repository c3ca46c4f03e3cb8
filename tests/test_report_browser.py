"""The HTML report in headless Chromium: opens offline, every figure loads, no request leaves the machine.

Needs Debian's chromium (installed by `make test`, see scripts/setup_system.sh) and the PyPI playwright
package (driving the system browser; no browser download).
"""

import shutil

import pytest

from helpers import REPO, snakemake

playwright = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (make test installs it)"),
]
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


FRONT_PAGE_LAYOUT = """() => {
  const page = document.documentElement.clientWidth;
  const tables = [...document.querySelectorAll('.prose table')];
  const lines = (cell) => {
    const range = document.createRange();
    range.selectNodeContents(cell);
    return new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size;
  };
  const numbers = document.querySelectorAll(
    '.prose table.testbeds-numbers td, .prose table.testbeds-claims td:nth-child(4), ' +
    '.prose table.testbeds-claims td:nth-child(5)');
  const figure = document.querySelector('.prose img[alt="every claim on one axis"]');
  return {
    page,
    tables: tables.length,
    widest: Math.max(...tables.map((t) => t.getBoundingClientRect().right)),
    description: document.querySelector('.prose').getBoundingClientRect().width,
    wrapped: [...numbers].filter((td) => lines(td) > 1).map((td) => td.innerText),
    claims_figure: figure ? figure.naturalWidth : 0,
  };
}"""


def test_report_renders_offline_with_every_figure(workflow_copy):  # conftest: the end-to-end test's grid
    cfg = ("--configfile", "config/test.yaml")
    snakemake(workflow_copy, "--cores", "2", *cfg)
    report = workflow_copy / "results" / "report.html"
    snakemake(workflow_copy, *cfg, "--report", str(report))
    figures = sorted(
        p.relative_to(workflow_copy).as_posix()
        for p in (workflow_copy / "results" / "figures").rglob("*.png")
        if p.parent.name != "runs"
    )
    assert len(list((workflow_copy / "results" / "figures" / "heat2d" / "runs").glob("*.png"))) == 9  # one per run
    # 6 per workload (5: with the tuning budget and sensitivity figures), lot's 2 oscillator figures, lds' 2
    # rollout figures, heat2d's 2 frame figures, the summary's profiles and critical-difference diagram
    assert len(figures) == 6 * 5 + 2 + 2 + 2 + 2
    requests = []
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.on("request", lambda request: requests.append(request.url))
        page.goto(report.as_uri())
        assert "testbeds grid report" in page.inner_text("body")
        front = page.inner_text("body")
        assert "The source projects' claims, measured on this grid" in front and "lds-approaches-kalman" not in front
        assert "a transformer filter approaches the Kalman filter" in front  # each claim with its verdict
        assert "p adj. (raw; test)" in front and "mean rank" in front  # per-workload tables and the ranking
        assert "Head to head" in front and "Δ vs baseline" in front
        # the front page uses the window's width (workflow/report/stylesheet.css), no table is wider than the page,
        # no number wraps, the picture of the claims loads (mutations: the stylesheet left out of the profile; its
        # overflow-wrap rule removed: a table 1515 px wide at 1400, as before 2026-12-07)

        front_shot = REPO / "results" / "report_front_page.png"
        front_shot.parent.mkdir(exist_ok=True)
        page.screenshot(path=str(front_shot), full_page=False)
        layout = page.evaluate(FRONT_PAGE_LAYOUT)
        assert layout["tables"] >= 5, layout
        assert layout["description"] > 0.8 * layout["page"], layout
        assert layout["wrapped"] == [], layout["wrapped"][:5]
        assert layout["widest"] <= layout["page"], layout  # no front-page table wider than the page
        assert layout["claims_figure"] > 300
        for figure in figures:
            category = {"summary": "Summary"}.get(figure.split("/")[2], figure.split("/")[2])
            page.goto(report.as_uri())
            page.get_by_text(category, exact=True).first.click()
            page.locator("tr", has_text=figure).locator('a[iconname="eye"]').click()
            image = page.locator("img").last
            image.wait_for(state="visible", timeout=10_000)
            loaded, width = page.evaluate("(i) => [i.complete, i.naturalWidth]", image.element_handle())
            assert loaded and width > 300, f"{figure} did not render (naturalWidth {width})"
            if figure.endswith("learning_curves.png"):
                shot = REPO / "results" / "report_screenshot.png"  # kept for people to look at
                shot.parent.mkdir(exist_ok=True)
                page.screenshot(path=str(shot), full_page=False)
                assert shot.stat().st_size > 10_000
        browser.close()
    outside = [url for url in requests if not url.startswith(("file:", "data:", "blob:", "about:"))]
    assert outside == [], f"the report made requests off the machine: {outside[:5]}"
