"""Every service documents itself, errors included, as it really answers."""
from __future__ import annotations

import re
import warnings
from urllib.parse import urljoin, urlsplit

import pytest

from marketplace import registry
from shared.http import create_app


@pytest.mark.parametrize("name", list(registry.available()))
class TestOpenApi:
    def test_errors_are_documented_as_problem_json(self, name, settings):
        spec = create_app(registry.get(name), settings, migrate=True).test_client().get("/openapi.json").get_json()
        error = spec["components"]["responses"]["DEFAULT_ERROR"]["content"]
        assert list(error) == ["application/problem+json"]
        assert {"type", "title", "status", "detail", "errors"} <= set(spec["components"]["schemas"]["Problem"]["properties"])

    def test_every_route_but_the_operational_ones_is_documented(self, name, settings):
        app = create_app(registry.get(name), settings, migrate=True)
        documented = set(app.test_client().get("/openapi.json").get_json()["paths"])
        routes = {rule.rule.replace("<uuid:", "{").replace("<", "{").replace(">", "}") for rule in app.url_map.iter_rules()}
        operational = {"/health", "/ready", "/metrics", "/openapi.json", "/docs", "/docs/{path:filename}"}
        undocumented = {route for route in routes - documented - operational if not route.startswith("/static")}
        assert not undocumented

    def test_no_two_schemas_share_a_name(self, name, settings):
        """Each schema is named as it is in the code: apispec renames a second one silently but for a warning."""
        with warnings.catch_warnings():
            warnings.simplefilter("error", UserWarning)
            spec = create_app(registry.get(name), settings, migrate=True).test_client().get("/openapi.json").get_json()
        assert not [schema for schema in spec["components"]["schemas"] if re.search(r"\d$", schema)]

    def test_docs_load_swagger_ui_from_the_service_itself(self, name, settings):
        """/docs works offline: every script and stylesheet it names is served by the service."""
        client = create_app(registry.get(name), settings, migrate=True).test_client()
        page = client.get("/docs")
        assert page.status_code == 200
        assets = re.findall(r'(?:src|href)="([^"]+\.(?:js|css))"', page.get_data(as_text=True))
        assert {asset.rsplit("/", 1)[-1] for asset in assets} >= {"swagger-ui-bundle.js", "swagger-ui.css"}
        for asset in assets:
            assert not urlsplit(asset).netloc, f"{asset} is not served by the service"
            response = client.get(urljoin("/docs", asset))
            assert response.status_code == 200, asset
            assert response.content_length or response.get_data()
