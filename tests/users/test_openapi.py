"""The generated API document describes every users endpoint, its body and its auth."""
from __future__ import annotations


class TestApiDocument:
    def test_lists_every_endpoint_with_bodies_and_bearer_auth_where_needed(self, users):
        paths = users.client.get("/openapi.json").get_json()["paths"]
        expected = {("/users", "post"): (True, False), ("/users", "get"): (False, False),
                    ("/users/me", "get"): (False, True), ("/users/me", "patch"): (True, True),
                    ("/users/{user_id}", "get"): (False, False), ("/users/{user_id}/suspend", "post"): (True, True),
                    ("/users/{user_id}/reinstate", "post"): (False, True),
                    ("/auth/token", "post"): (True, False), ("/auth/jwks.json", "get"): (False, False)}
        for (path, method), (has_body, secured) in expected.items():
            operation = paths[path][method]
            assert ("requestBody" in operation) is has_body, (path, method)
            assert (operation.get("security") == [{"bearerAuth": []}]) is secured, (path, method)
            assert operation.get("summary"), (path, method)
