"""A full disk is a clean one-line error that names the file and leaves nothing behind (issue 15).

Where the test may mount (root with CAP_SYS_ADMIN, as on the CI and dev machines), the outputs go to a
16 KiB tmpfs filled to the brim: writes fail with ENOSPC exactly as on a full disk. Elsewhere the commands
run with RLIMIT_FSIZE = 1 KiB, so every write past 1 KiB fails in the kernel (EFBIG): the same path
through the code (a write that fails half-way), without needing a mount.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from nasviz.errors import NasvizError
from nasviz.fileio import check_writable_dir
from nasviz.paths import REPO_ROOT


@pytest.fixture()
def full_dir(tmp_path):
    """(folder, preexec): a folder on a full file system, or a folder plus a file-size limit."""
    mnt = tmp_path / "full"
    mnt.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", str(mnt)],
                             capture_output=True).returncode == 0 if os.geteuid() == 0 else False
    if mounted:
        try:
            fd = os.open(mnt / "fill", os.O_WRONLY | os.O_CREAT)
            try:  # fill it: the next write gets ENOSPC
                while os.write(fd, b"\0" * 1024):
                    pass
            except OSError:
                pass
            finally:
                os.close(fd)
            yield mnt, None, "No space left on device"
        finally:
            subprocess.run(["umount", str(mnt)], check=True)
    else:
        def limit():
            resource.setrlimit(resource.RLIMIT_FSIZE, (1024, 1024))
        yield mnt, limit, "File too large"


def cli(args, preexec) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nasviz.cli", *args], capture_output=True, text=True, timeout=600,
                          cwd=REPO_ROOT, env=dict(os.environ, NASVIZ_THREADS="1"), preexec_fn=preexec,
                          stdin=subprocess.DEVNULL)


def _listing(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


@pytest.mark.parametrize("args, name", [
    (["show", "6111", "--out", "{d}/cell.svg"], "cell.svg"),
    (["export", "6111", "--space", "nb201", "--out", "{d}/model.py"], "model.py"),
    (["search", "run", "--strategy", "random", "--space", "nb201", "--budget", "5", "--db", "{d}/runs.sqlite"],
     "runs.sqlite"),
], ids=["show-svg", "export", "search-db"])
def test_a_full_disk_is_one_error_line_and_leaves_nothing(full_dir, args, name):
    folder, preexec, reason = full_dir
    before = _listing(folder)
    p = cli([a.format(d=folder) for a in args], preexec)
    assert p.returncode == 2, (p.returncode, p.stderr[-2000:])
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), p.stderr
    assert "Traceback" not in p.stderr
    if name != "runs.sqlite":  # the file the user asked for is named, with the system's reason
        assert f"{folder / name}" in lines[0] and reason in lines[0], lines[0]
    else:
        assert "run database cannot be used" in lines[0] and "nothing was written" in lines[0]
    assert _listing(folder) == before  # no partial file, no temporary file, no empty database


def test_training_refuses_a_disk_without_room_before_it_starts(monkeypatch, tmp_path):
    """``nasviz train`` checks the free space of its --out file system first (a run writes a checkpoint and a
    per-epoch state); statvfs is the kernel's answer, replaced here by a nearly full one."""
    real = os.statvfs

    class Nearly:
        def __init__(self, st):
            self.f_flag, self.f_frsize, self.f_bavail = st.f_flag, 4096, 100  # 400 KiB free

    monkeypatch.setattr(os, "statvfs", lambda p: Nearly(real(p)))
    with pytest.raises(NasvizError, match=r"0\.4 MiB free and this run writes up to 64 MiB"):
        check_writable_dir(tmp_path / "out", need_bytes=64 * 2**20)
    assert not (tmp_path / "out").exists()
    check_writable_dir(tmp_path / "out")  # without a size to write, only writability counts
