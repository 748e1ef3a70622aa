"""nasviz: look inside neural architecture search.

Layers, lowest first (a lower layer never imports a higher one):
``spaces`` (what an architecture is) -> ``bench`` (what it scored) -> latent models ->
``analysis``/``search`` -> ``viz`` (figures). The Streamlit pages live outside the
package; ``nasviz`` never imports streamlit.
"""

__version__ = "0.1.0"
