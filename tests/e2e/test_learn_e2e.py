"""The Learn page in a real browser (`streamlit run app.py`, headless Debian Chromium), one browser page walking
through every lesson: the lesson's figure is drawn, choosing the right option reveals the answer computed from the
data (the same text nasviz.viz.lessons computes here), and the lesson's link opens its full page in the lesson's
state (checked on one or two of that page's widgets or on what they drew). Also the ?lesson=N deep link and the
"Next lesson" button. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import re
import time

import pytest
from _browser import first_plot, plot_titled
from playwright.sync_api import expect

from nasviz.viz import lessons as L
from nasviz.viz import maps

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _settled(page) -> None:
    expect(page.locator("[data-testid='stStatusWidget']")).to_have_count(0)


def _main(page):
    return page.locator("[data-testid='stMain']")


def _url_has(page, **params) -> None:
    for k, v in params.items():
        pattern = "".join("(,|%2C)" if c == "," else r"(\+|%20)" if c == " " else re.escape(c) for c in v)
        expect(page).to_have_url(re.compile(rf"[?&]{k}={pattern}(&|$)"))


def _plain(answer: str) -> str:
    """The start of a markdown answer as the browser shows it (bold/italic marks removed)."""
    return answer.replace("**", "").replace("*", "")[:60]


def _check_target(page, n: int, res) -> None:
    """The full page the lesson's link opened shows the lesson's state."""
    f, p = res.facts, res.params
    main = _main(page)
    if n == 1:
        expect(page.get_by_label("Official arch string or index", exact=True)).to_have_value(str(p["cell"]))
        expect(page.get_by_label("Compare with (optional)", exact=True)).to_have_value(str(p["compare"]))
        expect(main.get_by_text(f"Compared with #{p['compare']}:")).to_be_visible()
    elif n == 2:
        expect(main.get_by_text(f"Cell #{p['cell']}", exact=True)).to_be_visible()
        expect(page.get_by_label("Cell shown (index, or an NB201 string / NB101 hash or JSON spec)",
                                 exact=True)).to_have_value(str(p["cell"]))
        _url_has(page, embedding=p["embedding"], projection=p["projection"])
    elif n == 3:
        n_valid = 9 - f["n_invalid"]
        expect(main.get_by_text(f"{p['model']}: {n_valid}/9 valid decodes, {f['distinct']} distinct cells")
               ).to_be_visible()
        expect(main.get_by_label(re.compile(r"^Latent coordinate"))).to_have_value(str(p["dim"]))
    elif n == 4:
        labels = {s.name: s.label for s in maps.list_sources("nb201")}
        for name in p["embeddings"]:
            expect(main.locator("h3").filter(has_text=re.compile(rf"^{re.escape(labels[name])}$"))).to_have_count(1)
        _url_has(page, embeddings=",".join(p["embeddings"]))
    elif n == 5:
        plot = first_plot(page)
        for d in p["dims"]:
            expect(plot.locator(".annotation-text").filter(has_text=re.compile(rf"^dim {d}$"))).to_have_count(1)
        _url_has(page, dims=",".join(map(str, p["dims"])), embedding=p["embedding"])
    elif n == 6:
        # the page samples the same architectures: its Fig. 3 panel titles carry the lesson's variances
        plot = plot_titled(page, "Final controller hidden state")
        for kind, v in f["var"].items():
            expect(plot.get_by_text(f"{kind}: variance, mean {v:.1e}")).to_have_count(1)
        _url_has(page, n=str(p["n"]))
    else:
        plot = first_plot(page)
        for name in p["runs"]:
            method, seed = name.split("-seed")
            expect(plot.get_by_text(f"{method} s{seed} · 0→1")).to_have_count(1)  # panel titles: run · edge
        expect(plot.get_by_text(re.compile(r"^gumbel s0"))).to_have_count(0)  # a default run the lesson leaves out
        _url_has(page, runs=",".join(p["runs"]))


def test_learn_walks_every_lesson_and_its_link(page, app_url, artifacts):
    """Seven lessons, each: deep link, figure, answer, link to its page (a full page run each)."""
    t0 = time.monotonic()
    results = {les.number: L.build(les.number) for les in L.LESSONS}  # what the page must show

    # the Learn page from the sidebar opens lesson 1; "Next lesson" goes to lesson 2 and writes the URL
    page.goto(app_url)
    expect(page.locator("h1").first).to_be_visible(timeout=90_000)
    page.locator("[data-testid='stSidebar']").get_by_role("link", name="Learn").click()
    expect(_main(page).locator("h2").filter(has_text=f"Lesson 1: {L.lesson(1).title}")).to_be_visible()
    page.get_by_role("button", name="Next lesson").click()
    expect(_main(page).locator("h2").filter(has_text=f"Lesson 2: {L.lesson(2).title}")).to_be_visible()
    _url_has(page, lesson="2")

    for les in L.LESSONS:
        n, res = les.number, results[les.number]
        page.goto(f"{app_url}/learn?lesson={n}")
        main = _main(page)
        expect(main.locator("h2").filter(has_text=f"Lesson {n}: {les.title}")).to_be_visible(timeout=90_000)
        first_plot(page)
        _settled(page)
        answer = main.locator("[data-testid='stMarkdownContainer']").filter(
            has_text=re.compile(r"^What the data says\."))
        expect(answer).to_have_count(0)  # hidden until a choice
        main.locator("[data-testid='stRadio']").get_by_text(les.options[res.correct], exact=True).click()
        expect(main.get_by_text(f"Right: {les.options[res.correct]}.")).to_be_visible()
        expect(answer).to_contain_text(_plain(res.answer))
        page.screenshot(path=str(artifacts / f"learn-lesson-{n}.png"))
        main.get_by_role("link", name=f"Open this on the {les.page_title} page").click()
        expect(main.locator("h1").filter(has_text="Learn")).to_have_count(0)
        _settled(page)
        _check_target(page, n, res)
        expect(page.locator("[data-testid='stException']")).to_have_count(0)
        page.screenshot(path=str(artifacts / f"learn-lesson-{n}-target.png"))
    print(f"walked {len(L.LESSONS)} lessons in {time.monotonic() - t0:.1f} s")
