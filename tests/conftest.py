"""Suite-wide fixtures.

Streamlit's AppTest runs a page as ``__main__`` and leaves ``sys.modules["__main__"]``
pointing at that page afterwards. A later test that starts ``multiprocessing`` children
with the spawn method then re-runs the page in every child (spawn re-imports the
parent's ``__main__`` from its file), and such children crashed in a full run.
Every test therefore starts and ends with pytest's own ``__main__``, also when a
module- or session-scoped fixture ran AppTest before it.
"""

from __future__ import annotations

import sys

import pytest

_PYTEST_MAIN = sys.modules.get("__main__")


def _restore_main() -> None:
    if _PYTEST_MAIN is not None and sys.modules.get("__main__") is not _PYTEST_MAIN:
        sys.modules["__main__"] = _PYTEST_MAIN


@pytest.fixture(autouse=True)
def _restore_main_module():
    _restore_main()
    yield
    _restore_main()
