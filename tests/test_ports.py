"""The ports the tests give the servers they start: free, below the ephemeral range, never twice in a run."""
from __future__ import annotations

import socket

from tests.ports import Ports, ephemeral_start, port_free, worker_slice


# The pools below lie under 20000, where no test draws its ports.
class TestPorts:
    def test_each_xdist_worker_draws_from_its_own_slice_below_the_ephemeral_range(self):
        first, second = worker_slice("gw0", "2"), worker_slice("gw1", "2")
        assert not set(first) & set(second)
        assert first.start >= 20000 and second.stop <= ephemeral_start()
        assert worker_slice(None, None) == range(20000, ephemeral_start())

    def test_a_port_is_handed_out_once_and_one_in_use_is_passed_over(self):
        pool, ports = range(19000, 19010), Ports(range(19000, 19010))
        with socket.create_server(("127.0.0.1", 19003)):
            drawn = [ports.take() for _ in range(9)]
        assert sorted(drawn) == [port for port in pool if port != 19003]

    def test_a_row_is_free_from_first_to_last(self):
        ports = Ports(range(19100, 19120))
        with socket.create_server(("127.0.0.1", 19105)):
            for _ in range(5):
                row = range(first := ports.take(4), first + 4)
                assert 19105 not in row and all(port_free(port) for port in row) and row.stop <= 19120
