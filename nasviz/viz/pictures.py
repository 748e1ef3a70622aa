"""Many points drawn once on the server as a picture, for charts whose points are looked at, not hovered.

A Plotly chart of thousands of WebGL points costs the browser a WebGL context and a draw of every point each time
the figure is drawn (~0.7 s for 15,625 points in headless Chromium on the 2-core benchmark machine, BENCHMARKS);
a picture behind the axes costs an image decode. :func:`translucent_dots` draws one colour at a given opacity as
WebGL does (overlapping dots darken), :func:`png_data_uri` makes the picture a Plotly layout image's source, and
:func:`axis_image` places it on a subplot's axes. The cell editor's map draws its dots in their own colours
(:func:`nasviz.viz.editor.points_picture`).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

import numpy as np

#: pictures drawn so far (data URIs by their inputs' digest), the oldest dropped beyond MEMO_SIZE
MEMO_SIZE = 32
_MEMO: OrderedDict[str, str] = OrderedDict()
_MEMO_LOCK = threading.Lock()  # the app's sessions run in threads


def memo_uri(parts: list, build: Callable[[], str]) -> str:
    """The picture ``build()`` returns (a data URI), kept per input: ``parts`` (arrays and numbers) are everything
    the picture depends on, so the same picture is never drawn twice (an edit in the cell editor, a slider on the
    Dense sampling page redraw the figure around an unchanged picture)."""
    import hashlib

    h = hashlib.sha256()
    for part in parts:
        a = np.ascontiguousarray(np.asarray(part, dtype=np.float64))
        h.update(repr(a.shape).encode())
        h.update(a.tobytes())
    key = h.hexdigest()
    with _MEMO_LOCK:
        if key in _MEMO:
            return _MEMO[key]
    uri = build()
    with _MEMO_LOCK:
        _MEMO[key] = uri
        while len(_MEMO) > MEMO_SIZE:
            _MEMO.popitem(last=False)
    return uri


def png_data_uri(img) -> str:
    """A PIL image as a ``data:image/png;base64,...`` URI."""
    import base64
    import io

    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def pixels(x: np.ndarray, y: np.ndarray, x_range, y_range, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Data coordinates -> pixel columns and rows of a ``size = (width, height)`` picture spanning the ranges (row 0
    at the top, so ``y_range[1]``)."""
    w, h = size
    px = (np.asarray(x, dtype=np.float64) - x_range[0]) / (x_range[1] - x_range[0]) * w
    py = (y_range[1] - np.asarray(y, dtype=np.float64)) / (y_range[1] - y_range[0]) * h
    return px, py


def translucent_dots(x, y, x_range, y_range, *, color: tuple[int, int, int], opacity: float,
                     size: tuple[int, int], dot: int):
    """Dots of one colour and opacity (diameter ``dot`` pixels) as an RGBA PIL image: where ``n`` dots overlap a
    pixel its opacity is ``1 - (1 - opacity) ** n``, as blending them one over another gives (a WebGL scatter's
    look: dense regions darker). A dot is clipped at the picture's edges (one centred outside is left out)."""
    from PIL import Image

    w, h = size
    px, py = pixels(x, y, x_range, y_range, size)
    ok = np.isfinite(px) & np.isfinite(py)
    cx, cy = np.rint(px[ok]).astype(np.int64), np.rint(py[ok]).astype(np.int64)
    r = dot / 2
    span = np.arange(-int(np.ceil(r)), int(np.ceil(r)) + 1)
    dx, dy = np.meshgrid(span, span)
    disc = (dx ** 2 + dy ** 2) <= r ** 2
    count = np.zeros((h, w), dtype=np.int32)
    for ox, oy in zip(dx[disc], dy[disc]):
        xx, yy = cx + ox, cy + oy
        keep = (xx >= 0) & (xx < w) & (yy >= 0) & (yy < h)
        np.add.at(count, (yy[keep], xx[keep]), 1)
    alpha = 1.0 - (1.0 - float(opacity)) ** count
    rgba = np.zeros((h, w, 4), dtype=np.uint8)
    rgba[..., :3] = np.asarray(color, dtype=np.uint8)
    rgba[..., 3] = np.rint(alpha * 255).astype(np.uint8)
    return Image.fromarray(rgba, "RGBA")


def axis_image(source: str, x_range, y_range, *, xref: str = "x", yref: str = "y") -> dict:
    """A Plotly layout image filling the axes' ranges, behind the traces (set the axes' ranges to the same)."""
    return dict(source=source, xref=xref, yref=yref, x=x_range[0], y=y_range[1], sizex=x_range[1] - x_range[0],
                sizey=y_range[1] - y_range[0], sizing="stretch", layer="below")


def padded(lo: float, hi: float, pad: float = 0.04) -> tuple[float, float]:
    """``[lo, hi]`` widened by ``pad`` of its span on each side (a span of 1 where it is empty)."""
    span = hi - lo if hi > lo else 1.0
    return float(lo - pad * span), float(hi + pad * span)
