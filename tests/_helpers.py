"""Helpers shared by several test modules (imported as ``_helpers``: pytest puts tests/ on sys.path)."""

from __future__ import annotations

import time

from streamlit.testing.v1 import AppTest

from nasviz.search.store import RunState


def run_page(script: str, at: AppTest | None = None, timeout: float = 300) -> AppTest:
    """Run (or rerun) a page's AppTest and fail on any exception it raised."""
    if at is None:  # (an AppTest is falsy before its first run)
        at = AppTest.from_file(script, default_timeout=timeout)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def wait_progress(store, rid, at_least, timeout=60, unit="trials"):
    """Poll until run ``rid`` is running with at least ``at_least`` steps done; fail if it finishes first."""
    t_end = time.monotonic() + timeout
    while time.monotonic() < t_end:
        r = store.get_run(rid)
        if r.state == RunState.RUNNING and r.progress >= at_least:
            return r
        assert not r.state.finished, f"run finished before it could be interrupted: {r}"
        time.sleep(0.05)
    raise AssertionError(f"run {rid} never reached {at_least} {unit}")
