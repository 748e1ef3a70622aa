"""Traversal page: offset 0 is the anchor, a model that decodes the anchor elsewhere is flagged with both
cells shown, and the default coordinate makes a first visit show several distinct cells (AppTest, real models)."""

from __future__ import annotations

from pathlib import Path

from _helpers import run_page
from streamlit.testing.v1 import AppTest

REPO = Path(__file__).resolve().parents[1]
TRAV = str(REPO / "pages/traversal.py")


def _steps(at: AppTest) -> list[str]:
    return [c.value for c in at.caption if (c.value.startswith("#") or c.value.startswith("offset")) and "std" in c.value]


def test_beta_vae_default_view_shows_the_anchor_and_several_cells():
    at = AppTest.from_file(TRAV, default_timeout=600)
    at.query_params.update({"model": "nb201-bvae-beta1"})
    run_page(TRAV, at)
    assert at.selectbox(key="trav_model").value == "nb201-bvae-beta1"
    caps = _steps(at)
    mid = caps[len(caps) // 2]
    assert mid.startswith("#6111 ") and "anchor · +0.00 std" in mid
    distinct = {c.split(" ", 1)[0] for c in caps if c.startswith("#")}
    assert len(distinct) >= 3, caps
    head = next(s.value for s in at.subheader if s.value.startswith("nb201-bvae-beta1:"))
    assert f"{len(distinct)} distinct cells" in head
    # the retrained beta-VAE decodes the anchor's own code back to the anchor: no warning
    assert not [w for w in at.warning if "does not decode the anchor back to itself" in w.value]
    # the default coordinate is chosen per anchor: another anchor, possibly another coordinate, still >= 3 cells
    at.text_input(key="trav_anchor").set_value("42")
    run_page(TRAV, at)
    caps = _steps(at)
    assert caps[len(caps) // 2].startswith("#42 ")
    assert len({c.split(" ", 1)[0] for c in caps if c.startswith("#")}) >= 3


def test_a_model_that_decodes_the_anchor_elsewhere_is_flagged_with_both_cells():
    """The supervised arch2vec reconstructs no cell: a warning names the cell it decodes the anchor to, both
    diagrams are drawn, and offset 0 still shows the anchor."""
    at = AppTest.from_file(TRAV, default_timeout=600)
    at.query_params.update({"model": "nb201-arch2vec-supervised", "anchor": "6111"})
    run_page(TRAV, at)
    caps = _steps(at)
    assert caps[len(caps) // 2].startswith("#6111 ") and "anchor · +0.00 std" in caps[len(caps) // 2]
    warn = [w.value for w in at.warning if "does not decode the anchor back to itself" in w.value]
    assert len(warn) == 1 and ("cell #" in warn[0] or "an invalid cell" in warn[0]), warn
    if "cell #" in warn[0]:
        other = warn[0].split("decodes to cell #")[1].split(".")[0]
        assert other != "6111"
        assert any(c.value.startswith(f"#{other} ") and "what nb201-arch2vec-supervised decodes the anchor to" in
                   c.value for c in at.caption)


def test_a_coordinate_from_the_url_is_kept_and_a_faithful_model_shows_no_warning():
    at = AppTest.from_file(TRAV, default_timeout=600)
    at.query_params.update({"model": "nb201-arch2vec", "dim": "5", "anchor": "6111"})
    run_page(TRAV, at)
    assert at.number_input(key="trav_dim").value == 5
    assert not [w for w in at.warning if "does not decode the anchor" in w.value]
    assert _steps(at)[len(_steps(at)) // 2].startswith("#6111 ")
