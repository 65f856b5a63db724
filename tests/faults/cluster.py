"""A three-node RabbitMQ cluster of the test's own on this machine, and the faults it suffers.

Each node is a `rabbitmq-server` of its own (its node name, AMQP and distribution ports, data and logs
under the test's folder, one Erlang cookie), so the machine's own broker on 5672 is never touched.
`cluster_partition_handling = pause_minority`, as a cluster of three should run: a node cut off from the
other two pauses (it closes its clients' connections) until it can reach them again, then rejoins.
"""
from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from tests.ports import free_port
from tests.faults.suite import _SPAWNER, Vhosts, _die_with_parent

SBIN = Path("/usr/lib/rabbitmq/bin")


def available() -> bool:
    return (SBIN / "rabbitmq-server").exists() and (SBIN / "rabbitmqctl").exists()


@dataclass
class Node:
    name: str
    port: int
    dist_port: int
    dir: Path
    popen: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}"


class Cluster:
    """Three nodes clustered with the first; `kill`/`start` a node, `cut_off` one from the others for a while."""

    def __init__(self, base: Path, size: int = 3):
        self.base = base
        self.home = base / "home"
        self.home.mkdir(parents=True)
        cookie = self.home / ".erlang.cookie"
        cookie.write_text(secrets.token_hex(16))
        cookie.chmod(0o400)
        suffix = secrets.token_hex(3)
        self.nodes = [Node(f"faults{i + 1}_{suffix}@localhost", free_port(), free_port(), base / f"node{i + 1}")
                      for i in range(size)]

    def env(self, node: Node | None = None) -> dict:
        env = {**os.environ, "HOME": str(self.home)}
        if node is not None:
            env.update(RABBITMQ_NODENAME=node.name, RABBITMQ_DIST_PORT=str(node.dist_port),
                       RABBITMQ_MNESIA_BASE=str(node.dir / "mnesia"), RABBITMQ_LOG_BASE=str(node.dir / "log"),
                       RABBITMQ_CONFIG_FILE=str(node.dir / "rabbitmq.conf"),
                       RABBITMQ_ENABLED_PLUGINS_FILE=str(node.dir / "enabled_plugins"),
                       RABBITMQ_CONF_ENV_FILE=str(node.dir / "rabbitmq-env.conf"),
                       RABBITMQ_PID_FILE=str(node.dir / "pid"),
                       RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}")
        return env

    def ctl(self, node: Node, *args: str, timeout: float = 90, check: bool = True) -> subprocess.CompletedProcess:
        done = subprocess.run([str(SBIN / "rabbitmqctl"), "-q", "-n", node.name, *args], env=self.env(), text=True,
                              capture_output=True, timeout=timeout)
        if check:
            assert done.returncode == 0, f"rabbitmqctl -n {node.name} {' '.join(args)}: {done.stdout}{done.stderr}"
        return done

    # Bring-up ---------------------------------------------------------------------------

    def up(self) -> Cluster:
        for node in self.nodes:
            (node.dir / "log").mkdir(parents=True)
            (node.dir / "rabbitmq.conf").write_text(
                f"listeners.tcp.1 = 127.0.0.1:{node.port}\ncluster_partition_handling = pause_minority\n"
                "loopback_users = none\n")
            (node.dir / "enabled_plugins").write_text("[].\n")
            (node.dir / "rabbitmq-env.conf").write_text("")
            self.start(node, wait=False)
        for node in self.nodes:
            self.wait(node)
        first = self.nodes[0]
        for node in self.nodes[1:]:
            self.ctl(node, "stop_app")
            self.ctl(node, "join_cluster", first.name)
            self.ctl(node, "start_app")
        running = self.ctl(first, "eval", "length(rabbit_nodes:all_running()).").stdout.strip()
        assert running == str(len(self.nodes)), f"the cluster runs {running} node(s)"
        return self

    def start(self, node: Node, *, wait: bool = True) -> None:
        log = open(node.dir / "server.log", "a")
        node.popen = _SPAWNER.submit(subprocess.Popen, [str(SBIN / "rabbitmq-server")], env=self.env(node),
                                     stdout=log, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent).result()
        log.close()
        if wait:
            self.wait(node)

    def wait(self, node: Node, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while True:
            assert node.popen is not None and node.popen.poll() is None, \
                f"{node.name} exited: {(node.dir / 'server.log').read_text()[-2000:]}"
            if self.ctl(node, "await_startup", "--timeout", "30", check=False).returncode == 0:
                return
            assert time.monotonic() < deadline, f"{node.name} never started"
            time.sleep(1)

    # Faults -----------------------------------------------------------------------------

    def kill(self, node: Node) -> None:
        """SIGKILL to the node's whole process group: it loses every connection at once, writes nothing more."""
        if node.popen is not None and node.popen.poll() is None:
            os.killpg(node.popen.pid, signal.SIGKILL)
            node.popen.wait(30)

    def cut_off(self, node: Node, seconds: float) -> None:
        """Partition `node` from the others for `seconds`: its distribution refuses them both ways, then lets
        them back in (`net_kernel:allow`), so each side sees the other down, as with a network split."""
        peers = "[" + ",".join(f"'{other.name}'" for other in self.nodes if other is not node) + "]"
        self.ctl(node, "eval", f"""
            Peers = {peers},
            net_kernel:allow(['nobody@nowhere']),
            [erlang:disconnect_node(P) || P <- Peers],
            spawn(fun() -> timer:sleep({int(seconds * 1000)}), net_kernel:allow(Peers),
                           [net_adm:ping(P) || P <- Peers] end),
            ok.""")

    def running(self, via: Node) -> int:
        """How many nodes `via` sees running, the paused ones not counted."""
        done = self.ctl(via, "eval", "length(rabbit_nodes:all_running()).", check=False)
        return int(done.stdout.strip()) if done.returncode == 0 and done.stdout.strip().isdigit() else 0

    def clients(self) -> dict[str, int]:
        """How many client connections each node holds, by node name (a connection's name ends in the
        node's own address: `127.0.0.1:40112 -> 127.0.0.1:<node's port>`)."""
        listed = self.ctl(self.nodes[0], "list_connections", "name", "--no-table-headers", check=False).stdout
        ports = [line.rsplit(":", 1)[-1].strip() for line in listed.splitlines() if "->" in line]
        return {node.name: ports.count(str(node.port)) for node in self.nodes}

    def vhosts(self) -> ClusterVhosts:
        return ClusterVhosts(self)

    def down(self) -> None:
        for node in self.nodes:
            self.kill(node)
        shutil.rmtree(self.base, ignore_errors=True)


class ClusterVhosts(Vhosts):
    """The suite's vhost, made on the test's cluster with its own rabbitmqctl."""

    def __init__(self, cluster: Cluster):
        self.cluster, self.user = cluster, "guest"

    def usable(self) -> bool:
        return True

    def add(self, vhost: str) -> None:
        first = self.cluster.nodes[0]
        self.cluster.ctl(first, "add_vhost", vhost)
        self.cluster.ctl(first, "set_permissions", "-p", vhost, self.user, ".*", ".*", ".*")

    def delete(self, vhost: str) -> None:
        self.cluster.ctl(self.cluster.nodes[0], "delete_vhost", vhost, check=False)
