"""Suite-wide fixtures.

Streamlit's AppTest runs a page as ``__main__`` and leaves ``sys.modules["__main__"]``
pointing at that page afterwards. A later test that starts ``multiprocessing`` children
with the spawn method then re-runs the page in every child (spawn re-imports the
parent's ``__main__`` from its file), and such children crashed in a full run.
Restoring ``__main__`` after every test keeps tests independent of their order.
"""

from __future__ import annotations

import sys

import pytest


@pytest.fixture(autouse=True)
def _restore_main_module():
    main = sys.modules.get("__main__")
    yield
    if main is not None and sys.modules.get("__main__") is not main:
        sys.modules["__main__"] = main
