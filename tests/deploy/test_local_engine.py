"""deploy/local-engine.sh before it starts dockerd: the pid files a killed engine left behind.

A session's end kills dockerd and its containerd without a word, and /run need not be a tmpfs, so
their pid files outlive them. Once such a number belongs to another live process, dockerd took it
for a containerd still running and gave up with "timeout waiting for containerd to start". The
script keeps a pid file only while the process it names is the program it should be; here the
programs are stand-ins (a copy of `sleep` named after each), so no engine is needed.
"""
from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from tests.deploy.helpers import ROOT

SCRIPT = ROOT / "deploy" / "local-engine.sh"


@pytest.fixture
def running(tmp_path):
    """`running(name)`: the pid of a live process whose program is called `name`."""
    started = []

    def run(name: str) -> int:
        program = tmp_path / "bin" / name
        program.parent.mkdir(exist_ok=True)
        shutil.copy(shutil.which("sleep"), program)
        started.append(subprocess.Popen([str(program), "300"]))
        return started[-1].pid

    yield run
    for process in started:
        process.kill()
        process.wait()


def forget_stale(tmp_path, pid_files: dict[str, str]) -> subprocess.CompletedProcess:
    """Each {file name: pid file's text} under tmp_path, for dockerd and containerd, then the script."""
    for name, text in pid_files.items():
        (tmp_path / name).write_text(text)
    listed = f"{tmp_path / 'docker.pid'}:dockerd {tmp_path / 'containerd.pid'}:containerd"
    return subprocess.run(["bash", str(SCRIPT), "forget-stale"], capture_output=True, text=True, timeout=30,
                          env={**os.environ, "MARKETPLACE_ENGINE_PIDS": listed}, check=True)


def test_a_pid_reused_by_another_program_is_forgotten(tmp_path, running):
    other = running("sleep")

    done = forget_stale(tmp_path, {"docker.pid": str(other), "containerd.pid": str(other)})

    assert not (tmp_path / "docker.pid").exists() and not (tmp_path / "containerd.pid").exists()
    assert f"pid {other} is not containerd" in done.stderr


def test_the_pid_of_the_program_itself_is_kept(tmp_path, running):
    dockerd, containerd = running("dockerd"), running("containerd")

    forget_stale(tmp_path, {"docker.pid": str(dockerd), "containerd.pid": str(containerd)})

    assert (tmp_path / "docker.pid").read_text() == str(dockerd)
    assert (tmp_path / "containerd.pid").read_text() == str(containerd)


@pytest.mark.parametrize("text", ["", "not a number", "4194999", "12\n34"])
def test_a_pid_file_naming_nothing_alive_is_forgotten(tmp_path, text):
    forget_stale(tmp_path, {"containerd.pid": text})

    assert not (tmp_path / "containerd.pid").exists()


def test_a_dockerd_named_in_the_containerd_file_does_not_count(tmp_path, running):
    dockerd = running("dockerd")

    forget_stale(tmp_path, {"docker.pid": str(dockerd), "containerd.pid": str(dockerd)})

    assert (tmp_path / "docker.pid").exists() and not (tmp_path / "containerd.pid").exists()
