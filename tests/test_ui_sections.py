"""pages/_ui.guarded: an error inside an st.fragment section shows as the app's one line, not Streamlit's
traceback, and the rest of the page is still drawn (AppTest)."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest


def _app():
    import streamlit as st

    from nasviz.errors import NasvizError
    from pages import _ui

    @st.fragment
    @_ui.guarded
    def broken(kind: str) -> None:
        st.write("section start")
        if kind == "nasviz":
            raise NasvizError("models.json is not readable JSON; rerun benchmarks/bench_models.py")
        raise KeyError("unsupervised")

    broken(st.radio("kind", ["nasviz", "other"], key="kind"))
    st.write("after the section")


def test_a_failing_section_is_one_line_and_the_page_goes_on():
    at = AppTest.from_function(_app, default_timeout=60)
    at.run()
    assert not at.exception
    from nasviz.viz.markdown import escape_markdown

    assert [e.value for e in at.error] == [escape_markdown(
        "models.json is not readable JSON; rerun benchmarks/bench_models.py")]
    assert "after the section" in [m.value for m in at.markdown]
    at.radio(key="kind").set_value("other")
    at.run()
    assert not at.exception
    assert len(at.error) == 1 and at.error[0].value.startswith(escape_markdown("Something went wrong on this page (KeyError"))
    assert "after the section" in [m.value for m in at.markdown]
