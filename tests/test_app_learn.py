"""The Learn page, run headless through app.py (AppTest): every lesson renders its figure, hides the answer until a
choice (or the reveal button), then shows the answer the data gives; ?lesson=N opens lesson N; "Next lesson" moves on
and writes the URL; each lesson's link targets its page with the lesson's query parameters."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import parse_qsl

import pytest
from _helpers import figures, run_page
from streamlit.testing.v1 import AppTest

from nasviz.viz import lessons as L
from nasviz.viz.markdown import escape_markdown

REPO = Path(__file__).resolve().parents[1]
ANSWER = "**What the data says.**"


def _learn(lesson: str | None = None) -> AppTest:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=300)
    if lesson is not None:
        at.query_params["lesson"] = lesson
    at.switch_page("pages/learn.py")
    return run_page("", at)


def _answers(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown if m.value.startswith(ANSWER)]


@pytest.mark.parametrize("n", [les.number for les in L.LESSONS])
def test_each_lesson_renders_asks_and_reveals_the_answer_of_the_data(n):
    les, res = L.lesson(n), L.build(n)
    at = _learn(str(n))
    assert at.selectbox(key="learn_lesson").value == n and at.query_params["lesson"] == str(n)
    assert [h.value for h in at.header] == [f"Lesson {n}: {les.title}"]
    charts = figures(at)
    assert len(charts) == 1
    spec = charts[0]
    assert len(spec["data"]) == len(res.figure.data)
    assert spec["layout"]["title"]["text"] == res.figure.layout.title.text
    links = at.get("page_link")
    assert len(links) == 1
    default = re.search(r'st\.Page\("([^"]+)"[^\n]*default=True', (REPO / "app.py").read_text()).group(1)
    # the default page's link reads "" ("/") or its own name, depending on what ran before in the process
    assert links[0].proto.page in ({"", Path(les.page).stem} if les.page == default else {Path(les.page).stem})
    assert dict(parse_qsl(links[0].proto.query_string)) == res.query()
    # no answer before a choice
    assert not _answers(at) and not at.success and not at.warning
    choice = at.radio(key=f"learn_choice_{n}")
    assert choice.value is None and len(choice.options) == len(les.options)
    wrong = (res.correct + 1) % len(les.options)
    choice.set_value(wrong)
    run_page("", at)
    assert [w.value for w in at.warning] == [f"Not quite: the data says {escape_markdown(les.options[res.correct])}."]
    assert _answers(at) == [f"{ANSWER} {res.answer}"]
    at.radio(key=f"learn_choice_{n}").set_value(res.correct)
    run_page("", at)
    assert len(at.success) == 1 and at.success[0].value.startswith("Right") and not at.warning
    assert _answers(at) == [f"{ANSWER} {res.answer}"]


def test_reveal_button_shows_the_answer_without_a_choice():
    res = L.build(1)
    at = _learn("1")
    at.button(key="learn_reveal_button_1").click()
    run_page("", at)
    assert _answers(at) == [f"{ANSWER} {res.answer}"] and not at.success and not at.warning
    assert at.radio(key="learn_choice_1").value is None


def test_next_lesson_moves_on_and_writes_the_url():
    at = _learn("2")
    at.button(key="learn_next_2").click()
    run_page("", at)
    assert at.selectbox(key="learn_lesson").value == 3 and at.query_params["lesson"] == "3"
    assert [h.value for h in at.header] == [f"Lesson 3: {L.lesson(3).title}"]
    last = _learn(str(len(L.LESSONS)))
    assert not [b for b in last.button if b.key and b.key.startswith("learn_next")]


def test_a_bad_lesson_number_in_the_url_opens_the_first_lesson():
    for bad in ("99", "zero", "-1"):
        at = _learn(bad)
        assert at.selectbox(key="learn_lesson").value == 1 and at.query_params["lesson"] == "1"
    at = _learn()
    assert at.selectbox(key="learn_lesson").value == 1


def test_a_lesson_whose_model_is_missing_says_so_in_one_line(monkeypatch, tmp_path):
    """Lesson 3 needs a shipped beta-VAE: with an empty models folder the page names the missing checkpoint in
    one line and still offers the next lesson (no figure, question or link for that lesson)."""
    monkeypatch.setenv("NASVIZ_MODELS_DIR", str(tmp_path))
    import streamlit as st

    st.cache_resource.clear()  # lesson 3 computed by an earlier test (with the models) must not be served
    at = _learn("3")
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and errors[0].startswith("This lesson cannot be drawn here: no model checkpoint at")
    assert "\n" not in errors[0] and str(tmp_path) in errors[0].replace("\\", "")
    assert not figures(at) and not at.get("page_link")
    assert at.button(key="learn_next_3")
    st.cache_resource.clear()  # the lesson computed without models must not be served to a later test


def test_the_sidebar_link_reopens_the_lesson_seen_last():
    at = _learn("5")
    at.switch_page("pages/nb201_table.py")
    run_page("", at)
    at.query_params.clear()  # the sidebar's link carries no ?lesson=
    at.switch_page("pages/learn.py")
    run_page("", at)
    assert at.selectbox(key="learn_lesson").value == 5 and at.query_params["lesson"] == "5"
