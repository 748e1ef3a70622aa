"""``./nasviz-app`` exactly as README command (1) runs it (bash, scripts/env.sh, scripts/serve.py): the server
comes up, serves the app, and listens on the loopback interface only, never on every interface."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import urllib.request

import pytest

from _helpers import wait_healthy

from nasviz.paths import REPO_ROOT

pytestmark = pytest.mark.slow

START_TIMEOUT_S = 180  # a cold Streamlit start on the shared, loaded 2-core machine


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening(port: int) -> list[str]:
    """Local addresses of the sockets listening on ``port`` (the kernel's tables, IPv4 and IPv6)."""
    found = []
    for table, v6 in (("/proc/net/tcp", False), ("/proc/net/tcp6", True)):
        try:
            lines = open(table).read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            addr, hexport = fields[1].split(":")
            if int(hexport, 16) != port or fields[3] != "0A":  # 0A: LISTEN
                continue
            raw = bytes.fromhex(addr)
            if v6:  # four little-endian 32-bit words
                raw = b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4))
                found.append(socket.inet_ntop(socket.AF_INET6, raw))
            else:
                found.append(socket.inet_ntop(socket.AF_INET, raw[::-1]))
    return found


def _other_addresses() -> list[str]:
    """This machine's non-loopback IPv4 addresses (what another machine on the network would connect to)."""
    try:
        out = subprocess.run(["hostname", "-I"], capture_output=True, text=True, timeout=10).stdout.split()
    except OSError:
        return []
    return [a for a in out if "." in a and not a.startswith("127.")]


def test_nasviz_app_serves_on_localhost_only(tmp_path):
    port = _free_port()
    log = open(tmp_path / "app.log", "wb")
    env = dict(os.environ, STREAMLIT_BROWSER_GATHER_USAGE_STATS="false")
    env.pop("STREAMLIT_SERVER_ADDRESS", None)  # the launcher's own default, not one from this environment
    proc = subprocess.Popen(["./nasviz-app", "--server.port", str(port)], cwd=REPO_ROOT, stdout=log,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, start_new_session=True)
    try:
        wait_healthy(proc, f"http://127.0.0.1:{port}", tmp_path / "app.log", START_TIMEOUT_S)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=30) as r:
            assert r.status == 200 and b"<title>Streamlit</title>" in r.read()
        addrs = _listening(port)
        assert addrs, f"nothing listens on port {port}"
        assert set(addrs) <= {"127.0.0.1", "::1"}, f"./nasviz-app listens on {addrs}, not on loopback only"
        for other in _other_addresses():  # and the machine's network address is refused
            with pytest.raises(OSError):
                socket.create_connection((other, port), timeout=3).close()
        text = (tmp_path / "app.log").read_text()
        assert "installing" not in text  # .venv was ready: the launcher did not run pip
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()
