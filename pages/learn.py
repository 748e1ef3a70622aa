"""Learn: short guided lessons, one idea each, with a live figure, a question and the answer the data gives."""

import streamlit as st

from nasviz.errors import NasvizError
from nasviz.viz import lessons as L
from nasviz.viz.markdown import escape_markdown
from pages import _ui

LESSON, LAST = "learn_lesson", "learn_last_lesson"
NUMBERS = [les.number for les in L.LESSONS]


@st.cache_resource(show_spinner=False)
def result(n: int) -> L.LessonResult:  # read-only: figures and numbers of the shipped data
    return L.build(n)


def _go(n: int) -> None:
    st.session_state[LESSON] = n


def _reveal(key: str) -> None:
    st.session_state[key] = True


st.title("Learn")
st.markdown(
    "Short lessons on what nasviz shows, one idea each: read a few sentences, look at the figure (drawn live from "
    "the real benchmark data, models and stored results), answer the question, then see what the data says. Each "
    "lesson ends with a link that opens the full page in the same state. The lesson number is in the URL "
    "(`?lesson=N`), so a link to one lesson can be handed out."
)

# a URL without ?lesson= (the sidebar) opens the lesson this session saw last, else lesson 1
_ui.from_url(LESSON, "lesson", st.session_state.get(LAST, NUMBERS[0]), parse=int, valid=_ui.one_of(NUMBERS))
n = st.selectbox("Lesson", NUMBERS, key=LESSON, format_func=lambda k: f"{k}. {L.lesson(k).title}")
st.session_state[LAST] = n
_ui.to_url(lesson=n)
les = L.lesson(n)

st.header(f"Lesson {n}: {les.title}")
st.markdown(les.text)
try:
    with st.spinner("Drawing the figure from the data..."):
        res = result(n)
except NasvizError as e:  # e.g. a shipped model or stored result missing from this checkout
    st.error(f"This lesson cannot be drawn here: {escape_markdown(_ui.one_line(e))}")
    res = None
if res is not None:
    _ui.chart(res.figure, key=f"learn_fig_{n}", name=f"lesson-{n}-{les.key}")

    st.subheader("Question")
    choice = st.radio(les.question, range(len(les.options)), index=None, format_func=lambda i: les.options[i],
                      key=f"learn_choice_{n}")
    shown_key = f"learn_reveal_{n}"
    if choice is None and not st.session_state.get(shown_key):
        st.button("Show the answer without choosing", key=f"learn_reveal_button_{n}", on_click=_reveal,
                  args=(shown_key,))
    else:
        if choice is not None:
            if choice == res.correct:
                st.success(f"Right: {escape_markdown(les.options[res.correct])}.", icon="✅")
            else:
                st.warning(f"Not quite: the data says {escape_markdown(les.options[res.correct])}.", icon="🤔")
        st.markdown(f"**What the data says.** {res.answer}")

    st.page_link(les.page, label=f"Open this on the {les.page_title} page", icon=":material/open_in_new:",
                 query_params=res.query())
if n != NUMBERS[-1]:
    st.button("Next lesson", key=f"learn_next_{n}", type="primary", on_click=_go, args=(n + 1,))
