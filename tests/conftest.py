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


# -- skips: only an absent GPU may skip in CI --------------------------------------------------------------------
# A test may skip only for an optional extra that is really absent: a GPU (CUDA), or outside CI the
# packages `ray`, `nas_201_api`/`nats_bench` (README command 2 installs them, so CI has them). Under CI
# (CI=true, as .ci/run has it) any other skip fails the session: a skip there hides a regression.
_ALLOWED_CI_SKIP = ("gpu", "cuda")
_skips: list[tuple[str, str]] = []


def _skip_reason(report) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2])
    return str(longrepr)


def pytest_runtest_logreport(report):
    if report.skipped and not hasattr(report, "wasxfail"):
        _skips.append((report.nodeid, _skip_reason(report)))


def pytest_collectreport(report):
    if report.skipped:
        _skips.append((report.nodeid, _skip_reason(report)))


def _strict_skips() -> bool:
    import os

    return os.environ.get("CI") == "true" or os.environ.get("NASVIZ_STRICT_SKIPS") == "1"


def pytest_sessionfinish(session, exitstatus):
    if not _strict_skips():
        return
    bad = [(node, why) for node, why in _skips if not any(w in why.lower() for w in _ALLOWED_CI_SKIP)]
    if bad:
        lines = "\n".join(f"  {node}: {why}" for node, why in bad)
        session.config.pluginmanager.get_plugin("terminalreporter").write_line(
            f"\nFAILED: {len(bad)} test(s) skipped for a reason other than an absent GPU; in CI only GPU tests "
            f"may skip (install what the reason names, or fix the test):\n{lines}", red=True, bold=True)
        session.exitstatus = 1
