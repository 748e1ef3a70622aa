"""Points drawn on the server as a picture (nasviz.viz.pictures) and the chart that uses it on the Dense sampling
page (its Eq. 4 bands chart): the dots land where the axes say, overlapping dots darken as WebGL blending does."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from PIL import Image

from nasviz.viz import pictures as P


def _img(uri: str) -> Image.Image:
    assert uri.startswith("data:image/png;base64,")
    return Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))).convert("RGBA")


def test_translucent_dots_land_on_their_pixels_and_darken_where_they_overlap():
    x = np.array([0.0, 5.0, 5.0, 5.0, 99.0])  # one dot alone, three on one spot, one outside the range
    y = np.array([0.0, 5.0, 5.0, 5.0, 0.0])
    img = P.translucent_dots(x, y, (-10, 10), (-10, 10), color=(31, 119, 180), opacity=0.35, size=(200, 100), dot=6)
    assert img.size == (200, 100) and img.mode == "RGBA"
    px, py = P.pixels([0.0, 5.0], [0.0, 5.0], (-10, 10), (-10, 10), (200, 100))
    one = img.getpixel((int(round(px[0])), int(round(py[0]))))
    three = img.getpixel((int(round(px[1])), int(round(py[1]))))
    assert one[:3] == (31, 119, 180) and one[3] == round(0.35 * 255)
    assert three[3] == round((1 - 0.65 ** 3) * 255)
    assert img.getpixel((5, 5))[3] == 0  # nothing drawn away from the dots
    alpha = np.asarray(img)[..., 3]
    assert (alpha > 0).sum() < 2 * np.pi * 3 ** 2 + 20  # two discs of diameter 6 (the point outside is left out)
    assert P.padded(0.0, 10.0) == pytest.approx((-0.4, 10.4)) and P.padded(3.0, 3.0) == pytest.approx((2.96, 3.04))
    image = P.axis_image(P.png_data_uri(img), (-1, 1), (0, 4), xref="x2", yref="y2")
    assert (image["x"], image["y"], image["sizex"], image["sizey"], image["xref"]) == (-1, 4, 2, 4, "x2")
    assert _img(image["source"]).size == (200, 100)


def test_bands_chart_draws_its_cells_as_one_picture_per_panel():
    from nasviz.viz import dense as D

    rng = np.random.default_rng(0)
    z = rng.normal(size=(5000, 4))
    acc = 50 + 10 * z[:, 1] + rng.normal(size=5000)
    acc[:10] = np.nan
    t = D.LatentTable(embedding="demo", z=z, mean=z.mean(0), sd=z.std(0), acc=acc, flops=np.ones(5000),
                      signal="acc")
    bands = D.eq4_bands(t, [0, 1], 3, 0.25)
    fig = D.fig_bands(t, bands, {1: (0.0, 1.0)})
    assert len(fig.data) == 0 and len(fig.layout.images) == 2  # no WebGL points: a picture per panel
    for n, (img, xa, ya) in enumerate(zip(fig.layout.images, ("xaxis", "xaxis2"), ("yaxis", "yaxis2"))):
        assert (img.xref, img.yref) == (("x", "y") if n == 0 else ("x2", "y2"))
        xr, yr = fig.layout[xa].range, fig.layout[ya].range
        assert (img.x, img.y, img.sizex, img.sizey) == pytest.approx((xr[0], yr[1], xr[1] - xr[0], yr[1] - yr[0]))
        s = n  # panel n is dimension n here
        assert xr[0] < z[:, s].min() and xr[1] > z[:, s].max()  # every interval the sliders allow is inside
        assert yr[0] < np.nanpercentile(acc, 1) and yr[1] > np.nanmax(acc)  # the drawn sample holds the best 200
        pic = _img(img.source)
        assert pic.size == D.BANDS_PICTURE
        # the best cell is drawn, at its place
        best = int(np.nanargmax(acc))
        px, py = P.pixels([z[best, s]], [acc[best]], xr, yr, pic.size)
        assert pic.getpixel((int(round(px[0])), int(round(py[0]))))[3] > 0
    # the bands and the chosen interval stay shapes over the pictures
    assert len([s for s in fig.layout.shapes if s.fillcolor == "#2ca02c"]) == 6
    assert len([s for s in fig.layout.shapes if s.line.color == "#d62728"]) == 1
    import re

    drawn = int(re.search(r"\(([\d,]+) cells\)$", fig.layout.title.text).group(1).replace(",", ""))
    assert 4000 <= drawn <= 4200  # 4,000 drawn at random plus the best 200, some of them already among those


def test_a_picture_is_drawn_once_per_input():
    """memo_uri: the same inputs give the kept picture without drawing it again; any other input draws anew
    (arrays of the same bytes in another shape included)."""
    calls = []

    def build(tag):
        def make():
            calls.append(tag)
            return f"data:image/png;base64,{tag}"
        return make

    a = np.arange(6, dtype=np.float64)
    first = P.memo_uri([a, (0, 1), 3], build("a"))
    assert P.memo_uri([a.copy(), (0.0, 1.0), 3.0], build("b")) is first and calls == ["a"]
    assert P.memo_uri([a.reshape(2, 3), (0, 1), 3], build("c")) == "data:image/png;base64,c"
    assert P.memo_uri([a, (0, 1), 4], build("d")) == "data:image/png;base64,d" and calls == ["a", "c", "d"]


def test_the_bands_chart_redraws_around_its_kept_pictures():
    from nasviz.viz import dense as D

    rng = np.random.default_rng(1)
    z = rng.normal(size=(3000, 2))
    t = D.LatentTable(embedding="demo", z=z, mean=z.mean(0), sd=z.std(0), acc=rng.uniform(10, 90, 3000),
                      flops=np.ones(3000), signal="acc")
    bands = D.eq4_bands(t, [0, 1], 3, 0.25)
    one = D.fig_bands(t, bands, {0: (-0.5, 0.5)})
    two = D.fig_bands(t, bands, {0: (-0.2, 0.2)})  # another interval inside the same ranges: the same pictures
    assert [i.source for i in two.layout.images] == [i.source for i in one.layout.images]
    assert all(a.source is b.source for a, b in zip(one.layout.images, two.layout.images))
