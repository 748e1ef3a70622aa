"""nasviz app entry: `streamlit run app.py`. One st.Page per file in pages/ (pages/_ui.py is shared code)."""

from pathlib import Path

import streamlit as st

from pages._ui import FORMAT, FORMATS, run_page

# A local favicon: without one, Streamlit makes the default page's icon (:material/table:) the favicon and
# fetches it from fonts.gstatic.com on every rerun, which fails offline.
st.set_page_config(page_title="nasviz", layout="wide",
                   page_icon=str(Path(__file__).resolve().parent / "pages" / "_assets" / "favicon.png"))

PAGES = [
    st.Page("pages/learn.py", title="Learn", icon=":material/school:"),
    st.Page("pages/nb201_table.py", title="NB201 table", icon=":material/table:", default=True),
    st.Page("pages/cell_editor.py", title="Cell editor", icon=":material/edit:"),
    st.Page("pages/latent_map.py", title="Latent map", icon=":material/scatter_plot:"),
    st.Page("pages/traversal.py", title="Latent traversal", icon=":material/timeline:"),
    st.Page("pages/controller.py", title="Controller study", icon=":material/psychology:"),
    st.Page("pages/correlations.py", title="Correlations", icon=":material/insights:"),
    st.Page("pages/distributions.py", title="Distributions", icon=":material/stacked_line_chart:"),
    st.Page("pages/runs.py", title="Search runs", icon=":material/history:"),
    st.Page("pages/dense_sampling.py", title="Dense sampling", icon=":material/travel_explore:"),
]

# one control for every page (a widget of the entry file keeps its value across pages)
st.sidebar.radio("Figure downloads", FORMATS, key=FORMAT, format_func=str.upper, horizontal=True,
                 help="What the camera button in a chart's toolbar saves: PNG (a picture) or SVG (vector graphics, "
                      "for papers and slides). Cell diagrams have their own SVG/PNG buttons.")
run_page(st.navigation(PAGES))  # an error shows as one line; its trace goes to the server's log
