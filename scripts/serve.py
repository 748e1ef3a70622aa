"""Serve the nasviz app: ``streamlit run app.py``, warming the latent map's data once the server listens.

``./nasviz-app`` runs this; its arguments go to ``streamlit run`` (e.g. ``--server.port 8600``).
The warm-up (``pages/_map_data.warm_up``) runs in a background thread after the server answers, so
it never delays the server's start; a browser opening the app meanwhile loads Streamlit's JavaScript
(about a second), and its first page run then finds pandas, Plotly, nasviz and the default NB201 map
in memory. Between its steps the warm-up waits while any page script runs, so it does not take CPU
from the page a user opened (the landing page needs the imports, not the map). If the warm-up fails
the app is unaffected: the page loads the same data itself. After the map, it imports the modules the
other pages need (:data:`HEAVY_IMPORTS`), so a first visit to those pages does not pay for torch.
"""

from __future__ import annotations

import importlib
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: Imported after the map's data, one at a time and yielding to pages: the traversal, controller, correlations,
#: cell editor and learn pages import these on their first run (torch, the models, scikit-learn's GP).
HEAVY_IMPORTS = ("torch", "nasviz.models", "nasviz.analysis.controller", "nasviz.analysis.latent",
                 "nasviz.viz.traversal", "nasviz.viz.controller", "nasviz.viz.correlations",
                 "sklearn.gaussian_process")


def _pages_running() -> bool:
    """Whether some browser session's page script is running now (Streamlit's session manager)."""
    from streamlit.runtime import Runtime
    from streamlit.runtime.app_session import AppSessionState

    try:
        sessions = Runtime.instance()._session_mgr.list_active_sessions()
        return any(getattr(s.session, "_state", None) == AppSessionState.APP_IS_RUNNING for s in sessions)
    except Exception:  # another Streamlit version: never wait
        return False


def _wait_while_pages_run(limit: float = 30.0) -> None:
    """Between warm-up steps: let a page script that is running (e.g. the landing page) have the CPU."""
    deadline = time.monotonic() + limit
    while _pages_running() and time.monotonic() < deadline:
        time.sleep(0.02)


def _warm_up(timeout: float = 120.0) -> None:
    from streamlit.runtime import Runtime, RuntimeState

    serving = (RuntimeState.NO_SESSIONS_CONNECTED, RuntimeState.ONE_OR_MORE_SESSIONS_CONNECTED)
    deadline = time.monotonic() + timeout
    while not (Runtime.exists() and Runtime.instance().state in serving):
        if time.monotonic() > deadline:
            return
        time.sleep(0.05)
    try:
        if str(ROOT) not in sys.path:
            sys.path.insert(0, str(ROOT))
        from pages import _map_data

        _map_data.warm_up(pause=_wait_while_pages_run)
        for module in HEAVY_IMPORTS:  # then what the other pages import (torch alone takes ~2 s)
            _wait_while_pages_run()
            importlib.import_module(module)
    except Exception as e:  # the page loads the same data itself, and reports any error there
        print(f"nasviz: warm-up skipped ({type(e).__name__}: {e})", file=sys.stderr, flush=True)


def main(argv: list[str]) -> int:
    from streamlit.web import cli

    threading.Thread(target=_warm_up, name="nasviz-warm-up", daemon=True).start()
    return cli.main(["run", str(ROOT / "app.py"), *argv], prog_name="streamlit")  # exits when the server stops


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
