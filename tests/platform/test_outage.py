"""A service whose database does not answer says so: 503 to retry, never a 500 or a trace."""
from __future__ import annotations

from services.users import SERVICE
from shared.db import Database
from shared.http import create_app
from shared.runtime import Runtime


class TestDatabaseOutage:
    def test_requests_are_503_with_retry_after_and_ready_names_the_database(self, settings):
        gone = Database("postgresql+psycopg://postgres@127.0.0.1:1/nowhere")
        app = create_app(SERVICE, settings, runtime=Runtime(SERVICE, settings, database=gone))
        client = app.test_client()

        search = client.get("/users?q=ada")
        assert search.status_code == 503
        assert search.headers["Content-Type"] == "application/problem+json"
        assert search.headers["Retry-After"] == "5"
        assert "database" in search.get_json()["detail"]

        ready = client.get("/ready")
        assert ready.status_code == 503 and ready.get_json()["checks"]["database"].startswith("failed")
        assert client.get("/health").status_code == 200
