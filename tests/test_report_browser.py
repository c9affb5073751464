"""The executive report in a real browser (headless Chromium) at desktop and phone widths.

The report is built from fake fits saved in a workspace (``fake_fit_workspace``: the library's
``fake_fit`` posteriors, loaded by the real ``fit_all``), on the small sample with one partner
id rewritten to ``P$\\x$3`` (matplotlib reads text between two ``$`` as mathtext: unescaped,
that id crashed the ASR chart). Chromium then renders it:

- screenshots at 1400 and 400 px wide (written under the test's tmp folder, never committed);
- measurements by a script run in a page holding the report in a 400 px (then 1400 px) wide
  frame: the page's scroll width against its width (no sideways scrolling on a phone: the
  diagnostics and every other table must scroll inside their own box), which drawing of each
  chart the browser picked and how wide it shows it. With the chart's smallest text in points
  and its width in inches, that gives the smallest chart text in CSS px, which must be >= 9.

Skipped only when Chromium is not installed (``.ci/run`` installs it).
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
from matplotlib.text import Text

from partner_forecast.reports.charts.style import NARROW, WIDE
from partner_forecast.reports.executive import build_report
from partner_forecast.reports.html import render_html
from test_report_fakes import fake_fit_workspace, small_sample

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="headless Chromium is not installed (apt-get install chromium; "
                             ".ci/run installs it before the tests)")

HOSTILE_ID = "P$\\x$3"
"""A partner id that is mathtext when passed to matplotlib unescaped."""
MIN_TEXT_PX = 9.0
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars")
MEASURE = """
addEventListener('load', () => {
  const frame = document.getElementById('report');
  const doc = frame.contentDocument, root = doc.documentElement;
  const images = [...doc.querySelectorAll('figure img')].map(img => ({
    id: img.closest('figure').id, narrow: img.currentSrc !== img.src,
    width: img.getBoundingClientRect().width}));
  const out = {scrollWidth: root.scrollWidth, clientWidth: root.clientWidth,
               innerWidth: frame.contentWindow.innerWidth, images: images};
  const node = document.createElement('div');
  node.id = 'measured'; node.hidden = true; node.textContent = JSON.stringify(out);
  document.body.appendChild(node);
});
"""


def chromium(tmp: Path, width: int, height: int, *args: str) -> str:
    """Run headless Chromium with a fresh profile; its stdout."""
    profile = tmp / f"profile-{uuid.uuid4().hex}"
    try:
        done = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}",
                               f"--window-size={width},{height}", *args],
                              capture_output=True, text=True, timeout=180, check=True)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    return done.stdout


def hostile_sample(folder: Path) -> Path:
    """The small sample with partner P0003 renamed to :data:`HOSTILE_ID` in every file."""
    source = small_sample(folder / "source")
    target = folder / "hostile"
    target.mkdir()
    for path in source.iterdir():
        if path.suffix == ".csv":
            (target / path.name).write_text(path.read_text("utf-8").replace("P0003", HOSTILE_ID), "utf-8")
    return target


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """The report object and its HTML file (forecast, variance review, all charts)."""
    tmp = tmp_path_factory.mktemp("browser")
    data = hostile_sample(tmp)
    ws = fake_fit_workspace(data, tmp / "ws")
    notes: list[str] = []
    report = build_report(data, draws=300, seed=2, horizon=2, workspace=ws, record=False,
                          notify=notes.append)
    page = tmp / "report.html"
    page.write_text(render_html(report), "utf-8")
    yield {"report": report, "page": page, "tmp": tmp, "notes": notes}
    report.close()


def measure(rendered: dict, width: int) -> dict:
    """Layout measurements of the report shown in a frame ``width`` CSS px wide."""
    source = rendered["page"].read_text("utf-8")
    # A frame far taller than the page: no vertical scrollbar takes width (as on a phone).
    wrapper = (f'<!DOCTYPE html><html><body style="margin:0"><iframe id="report" '
               f'style="width:{width}px;height:60000px;border:0" srcdoc="{html.escape(source)}">'
               f"</iframe><script>{MEASURE}</script></body></html>")
    path = rendered["tmp"] / f"measure-{width}.html"
    path.write_text(wrapper, "utf-8")
    dom = chromium(rendered["tmp"], max(width, 1400), 2000, "--dump-dom", path.as_uri())
    found = re.search(r'<div id="measured" hidden="">(.*?)</div>', dom)
    assert found, dom[-2000:]
    return json.loads(html.unescape(found.group(1)))


def smallest_text_pt(fig) -> float:
    """The smallest font size (points) of any text drawn in ``fig``."""
    sizes = [t.get_fontsize() for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]
    return min(sizes)


def test_the_hostile_partner_id_reaches_the_asr_chart(rendered):
    asr = next(c for c in rendered["report"].charts() if c.key == "asr")
    labels = [t.get_text() for t in asr.figure_for(NARROW).axes[0].get_xticklabels()]
    assert any("\\x" in label for label in labels), labels  # drawn, escaped, not parsed


@pytest.mark.parametrize("width", [400, 1400])
def test_screenshots_at_desktop_and_phone_width(rendered, width):
    shot = rendered["tmp"] / f"report-{width}.png"
    chromium(rendered["tmp"], width, 6000, f"--screenshot={shot}", rendered["page"].as_uri())
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG")
    assert int.from_bytes(data[16:20], "big") == width  # IHDR width


def test_phone_width_no_sideways_scroll_and_legible_charts(rendered):
    m = measure(rendered, 400)
    assert m["innerWidth"] == 400 and m["clientWidth"] == 400, m
    assert m["scrollWidth"] <= m["clientWidth"], f"page is {m['scrollWidth']} px wide at 400"
    charts = {f"chart-{c.key}": c for c in rendered["report"].charts()}
    assert {i["id"] for i in m["images"]} == set(charts)
    for image in m["images"]:
        assert image["narrow"], f"{image['id']}: the desktop drawing is shown on a phone"
        fig = charts[image["id"]].figure_for(NARROW)
        px = smallest_text_pt(fig) / 72 * image["width"] / fig.get_size_inches()[0]
        assert px >= MIN_TEXT_PX, f"{image['id']}: smallest chart text {px:.1f} CSS px at 400 px"


def test_desktop_width_shows_the_wide_charts_legibly(rendered):
    m = measure(rendered, 1400)
    assert m["scrollWidth"] <= m["clientWidth"]
    charts = {f"chart-{c.key}": c for c in rendered["report"].charts()}
    for image in m["images"]:
        assert not image["narrow"], image["id"]
        fig = charts[image["id"]].figure_for(WIDE)
        px = smallest_text_pt(fig) / 72 * image["width"] / fig.get_size_inches()[0]
        assert px >= MIN_TEXT_PX, f"{image['id']}: smallest chart text {px:.1f} CSS px at 1400 px"
