"""`marketplace dev`: the whole marketplace in one process, on SQLite and the embedded bus."""
from __future__ import annotations

import logging
import signal
import threading

from werkzeug.serving import make_server

from marketplace import gateway, registry
from marketplace.databases import create_missing
from shared.config import Settings
from shared.http import create_app
from shared.runtime import Runtime
from shared.worker import Worker

log = logging.getLogger(__name__)


class Marketplace:
    """Every available service's API on its own port, the gateway in front, workers in threads."""

    def __init__(self, settings: Settings, services: dict, host: str = "127.0.0.1", ports: dict | None = None):
        self.settings = settings
        self.ports = registry.ports() if ports is None else ports
        create_missing(settings, services)
        self.runtimes = {name: Runtime(service, settings) for name, service in services.items()}
        for runtime in self.runtimes.values():
            runtime.migrate()
        self.apps = {name: create_app(runtime.service, settings, runtime=runtime) for name, runtime in self.runtimes.items()}
        self.workers = [Worker(runtime) for runtime in self.runtimes.values()]
        servers = {name: (self.ports[name], app) for name, app in self.apps.items()}
        servers[registry.GATEWAY] = (self.ports[registry.GATEWAY], gateway.in_process(self.apps))
        self.servers = {name: make_server(host, port, app, threaded=True) for name, (port, app) in servers.items()}
        self._threads: list[threading.Thread] = []

    def start(self) -> "Marketplace":
        # Ordering: every service subscribes before any relay publishes, so no event
        # left over from the last run is settled before its consumers are listening.
        for worker in self.workers:
            worker.declare()
        for worker in self.workers:
            worker.start()
        for name, server in self.servers.items():
            thread = threading.Thread(target=server.serve_forever, name=f"http-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        for server in self.servers.values():
            server.shutdown()
        for worker in self.workers:
            worker.stop()
        for runtime in self.runtimes.values():
            runtime.close()


def run(settings: Settings, services: dict, host: str, ports: dict | None = None) -> None:
    done = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: done.set())
    marketplace = Marketplace(settings, services, host, ports).start()
    print(f"Marketplace is up: gateway http://{host}:{marketplace.ports[registry.GATEWAY]}  ", end="")
    print("  ".join(f"{name} :{marketplace.ports[name]}" for name in services), flush=True)
    print(f"Data under {settings.var_dir.resolve()}; Ctrl-C stops.", flush=True)
    done.wait()
    print("Stopping…", flush=True)
    marketplace.stop()
