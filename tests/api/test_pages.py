"""Page sizes are bounded; errors are coded and bilingual; the OpenAPI document and the docs
are served without any internet address."""

import re

import pytest

from tests.api.conftest import call
from towerledger.api.pagination import DEFAULT_LIMIT, MAX_LIMIT


def test_pages_walk_the_whole_list(client, tokens):
    seen, offset = [], 0
    while offset is not None:
        body = call(client, "/api/v1/sites", tokens["admin"], limit=3, offset=offset).json()
        assert body["count"] == 4 and body["limit"] == 3 and len(body["items"]) <= 3
        seen += [s["site_code"] for s in body["items"]]
        offset = body["next_offset"]
    assert seen == ["LY001", "ZZ001", "ZZ002", "ZZ003"]


def test_default_and_largest_page(client, tokens):
    body = call(client, "/api/v1/tenancies", tokens["admin"]).json()
    assert (body["limit"], body["offset"], body["next_offset"]) == (DEFAULT_LIMIT, 0, None)
    assert call(client, "/api/v1/tenancies", tokens["admin"], limit=MAX_LIMIT).status_code == 200


@pytest.mark.parametrize("params", [{"limit": MAX_LIMIT + 1}, {"limit": 0}, {"offset": -1},
                                    {"limit": "many"}])
def test_page_size_beyond_bounds_is_422(client, tokens, params):
    response = call(client, "/api/v1/sites", tokens["admin"], **params)
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "INVALID" and body["message_zh"] and body["message_en"]
    assert body["errors"] and body["errors"][0]["loc"][-1] in params


def test_bad_path_value_is_422_with_code(client, tokens):
    response = call(client, "/api/v1/bills/not-a-number", tokens["admin"])
    assert response.status_code == 422 and response.json()["code"] == "INVALID"


def test_openapi_document(client, db):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    doc = response.json()
    assert {"/api/v1/sites", "/api/v1/bills/{bill_id}", "/api/v1/me"} <= set(doc["paths"])
    site = doc["components"]["schemas"]["SiteOut"]["properties"]
    assert {"site_code", "site_name", "city", "county", "host_site_code"} <= set(site)
    schemes = doc["components"]["securitySchemes"]
    assert {s["type"] for s in schemes.values()} == {"http", "apiKey"}


def test_docs_are_served_offline(client, db):
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    html = page.content.decode()
    # every script and stylesheet comes from this server, none from a CDN
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources and all(s.startswith("/api/v1/docs?asset=") for s in sources), sources
    assert "http://" not in html and "https://" not in html
    for source in sources:
        asset = client.get(source)
        assert asset.status_code == 200, source
        assert b"".join(asset.streaming_content)
    assert client.get("/api/v1/docs?asset=../../settings.py").status_code == 404
