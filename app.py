"""nasviz app entry: `streamlit run app.py`. One st.Page per file in pages/ (pages/_ui.py is shared code)."""

import streamlit as st

from pages._ui import FORMAT, FORMATS

st.set_page_config(page_title="nasviz", layout="wide")

PAGES = [
    st.Page("pages/nb201_table.py", title="NB201 table", icon=":material/table:", default=True),
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
st.navigation(PAGES).run()
