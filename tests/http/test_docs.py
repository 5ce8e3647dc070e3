"""``/docs`` works on a host without Internet access: every asset comes from the app."""

from __future__ import annotations

import re

from tests.http.conftest import Api

# Every URL the page names: attributes and the OpenAPI document Swagger UI loads.
_URLS = re.compile(r"""(?:src|href)="([^"]*)"|url: '([^']*)'""")


def _urls(html: str) -> list[str]:
    return [a or b for a, b in _URLS.findall(html)]


def test_the_docs_page_names_only_urls_of_the_app_itself(api: Api) -> None:
    page = api.http.get("/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    urls = _urls(page.text)
    assert len(urls) == 4, urls  # stylesheet, icon, script, document
    for url in urls:
        assert url.startswith("/") and not url.startswith("//"), url
    assert "://" not in page.text  # nothing from a CDN, in any attribute


def test_each_url_of_the_docs_page_answers_with_its_asset(api: Api) -> None:
    kinds = {
        ".css": ("text/css", b".swagger-ui"),
        ".js": ("text/javascript", b"SwaggerUIBundle"),
        ".png": ("image/png", b"\x89PNG"),
        ".json": ("application/json", b'"openapi"'),
    }
    for url in _urls(api.http.get("/docs").text):
        response = api.http.get(url)
        assert response.status_code == 200, url
        media_type, marker = next(kind for end, kind in kinds.items() if url.endswith(end))
        assert response.headers["content-type"].startswith(media_type), url
        assert marker in response.content[:200_000], url


def test_only_the_swagger_files_are_served_from_the_package(api: Api) -> None:
    for name in ("__init__.py", "..%2F__init__.py", "missing.js"):
        response = api.http.get(f"/docs/assets/{name}")
        assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_the_assets_are_not_in_the_openapi_document(api: Api) -> None:
    paths = api.http.get("/openapi.json").json()["paths"]
    assert not [path for path in paths if path.startswith("/docs")]
