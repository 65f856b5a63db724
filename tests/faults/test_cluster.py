"""Hire-to-payout stories on a three-node RabbitMQ cluster that loses a node: one killed and restarted, one cut off.

The queues are quorum queues, replicated on the three nodes; every process is given the three nodes'
URLs (`AMQP_URL=url1;url2;url3`) and starts at one chosen at random, so the nodes that fail carry clients
that must fail over. The verdict is the fault suite's: every saga ends as its story says, balances equal
the model, the ledger balances, one event per saga step (none lost, none applied twice), no dead letters.
"""
from __future__ import annotations

import time

import pytest

from tests import infra
from tests.faults import cluster as local_cluster
from tests.faults.bus import BusObserver
from tests.faults.stories import Driver, plan
from tests.faults.suite import Suite
from tests.faults.test_faults import assert_clean, set_up, settle
from tests.faults.verdict import ONCE_PER_MILESTONE, judge
from tests.support import eventually

pytestmark = [pytest.mark.slow, pytest.mark.amqp, pytest.mark.postgres, pytest.mark.timeout(600)]

STORIES = 8


class ClusterSuite(Suite):
    """The fault suite with its processes on the cluster: every node's URL, no proxy in between."""

    def __init__(self, tmp_path, cluster: local_cluster.Cluster, pg_server_url: str):
        super().__init__(tmp_path, cluster.nodes[0].url + "/", pg_server_url)
        self.cluster = cluster
        self.vhosts = cluster.vhosts()

    def node_url(self, index: int) -> str:
        return f"{self.cluster.nodes[index].url}/{self.vhost}"

    @property
    def direct_amqp_url(self) -> str:
        return ";".join(f"{node.url}/{self.vhost}" for node in self.cluster.nodes)

    @property
    def amqp_url(self) -> str:
        return self.direct_amqp_url


@pytest.fixture
def cluster(tmp_path):
    if not local_cluster.available():
        infra.unavailable("rabbitmq-server, to run a cluster of three local nodes")
    made = local_cluster.Cluster(tmp_path / "cluster")
    try:
        yield made.up()
    finally:
        made.down()


@pytest.fixture
def on_cluster(tmp_path, cluster, pg_server_url):
    """(suite, driver, bus observer) with the whole suite on the cluster; the observer on the first node,
    which no fault touches, so it sees every event."""
    suite = ClusterSuite(tmp_path, cluster, pg_server_url)
    bus = None
    try:
        suite.up()
        bus = BusObserver(suite.node_url(0)).start()
        yield suite, Driver(suite), bus
    finally:
        if bus is not None:
            bus.stop()
        suite.down()


def tally(bus: BusObserver, stories) -> tuple[int, int]:
    """(lost, duplicated): saga steps with no event on the bus, and with more than one distinct event."""
    counts = [bus.count(type_, milestone_id=story.milestone_id)
              for story in stories if story.milestone_id is not None for type_ in ONCE_PER_MILESTONE[story.kind]]
    return sum(count == 0 for count in counts), sum(count > 1 for count in counts)


class TestAClusterThatLosesANode:
    def test_stories_go_on_while_a_node_is_killed_and_restarted_and_another_is_cut_off(self, on_cluster, cluster,
                                                                                       tmp_path):
        suite, driver, bus = on_cluster
        began = time.monotonic()
        stories = set_up(driver, plan(STORIES, seed=21))
        first, second = stories[:STORIES // 2], stories[STORIES // 2:]
        clients = cluster.clients()
        threads = driver.play_all(first)
        time.sleep(2)
        killed = cluster.nodes[1]
        cluster.kill(killed)
        eventually(lambda: cluster.running(cluster.nodes[0]) == 2, 60, interval=0.5)
        time.sleep(5)
        cluster.start(killed)
        eventually(lambda: cluster.running(cluster.nodes[0]) == 3, 120, interval=0.5, message="the killed node back")
        threads += driver.play_all(second)
        time.sleep(1)
        cut = cluster.nodes[2]
        cluster.cut_off(cut, seconds=10)
        eventually(lambda: cluster.running(cluster.nodes[0]) == 2, 60, interval=0.5, message="the cut-off node gone")
        eventually(lambda: cluster.running(cluster.nodes[0]) == 3, 180, interval=0.5, message="the cut-off node back")
        faults = [f"SIGKILL {killed.name} ({clients[killed.name]} clients), restarted 5s later, rejoined",
                  f"{cut.name} ({clients[cut.name]} clients) cut off from the others for 10s, paused "
                  f"(pause_minority), rejoined"]
        settle(threads, timeout=300)

        report = judge("cluster-loses-a-node", suite, driver, bus, stories, faults=faults, tmp_path=tmp_path)
        lost, duplicated = tally(bus, stories)
        print(f"\ncluster: {len(stories)} stories ({report.completed} completed, {report.compensated} compensated, "
              f"{report.stuck} stuck), {len(faults)} faults, {lost} lost, {duplicated} duplicated, "
              f"{report.duplicates_suppressed} redeliveries absorbed by the inboxes, "
              f"{time.monotonic() - began:.0f}s")
        assert_clean(report)
        assert (lost, duplicated) == (0, 0), report.text()
