"""Interactive API docs that work with no internet (intranets have none).

django-ninja ships Swagger UI's files inside the package but links them from a CDN unless
``ninja`` is an installed Django app. Rather than depend on that, this page serves the files
from the installed django-ninja package itself, under the docs URL (``?asset=NAME``), so the
docs show the Swagger UI version that matches the installed ninja, offline.

It runs under the site's Content-Security-Policy (``web.security``): no inline script. The
settings reach ninja's static ``swagger-ui-init.js`` as a ``json_script`` block (JSON with
``<``, ``>`` and ``&`` escaped, so nothing in it can close the element), read with JSON.parse.
"""

import mimetypes
from html import escape
from pathlib import Path

import ninja
from django.http import FileResponse, Http404, HttpResponse
from django.middleware.csrf import get_token
from django.urls import reverse
from django.utils.html import json_script
from ninja.openapi.docs import DocsBase

ASSET_DIR = Path(ninja.__file__).parent / "static" / "ninja"
ASSETS = ("swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-init.js", "favicon.png")

PAGE = """<!DOCTYPE html>
<html lang="zh-hans">
<head>
<meta charset="utf-8">
<title>{title}</title>
<link rel="stylesheet" href="{base}?asset=swagger-ui.css">
<link rel="icon" href="{base}?asset=favicon.png" type="image/png">
</head>
<body data-csrf-token="{csrf}" data-api-csrf="true">
{settings}
<div id="swagger-ui"></div>
<script src="{base}?asset=swagger-ui-bundle.js"></script>
<script src="{base}?asset=swagger-ui-init.js"></script>
</body>
</html>
"""


class OfflineSwagger(DocsBase):
    def render_page(self, request, api, **kwargs):
        asset = request.GET.get("asset")
        if asset is not None:
            return serve_asset(asset)
        settings = {"url": self.get_openapi_url(api, kwargs), "layout": "BaseLayout",
                    "deepLinking": True}
        html = PAGE.format(title=escape(api.title), csrf=escape(get_token(request)),
                           base=escape(reverse(f"{api.urls_namespace}:openapi-view")),
                           settings=settings_block(settings))
        return HttpResponse(html)


def settings_block(settings: dict) -> str:
    """The ``#swagger-settings`` element: Django's json_script escaping, read as data."""
    return json_script(settings, "swagger-settings")


def serve_asset(name: str):
    if name not in ASSETS:
        raise Http404(name)
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    response = FileResponse((ASSET_DIR / name).open("rb"), content_type=content_type)
    response["Cache-Control"] = "public, max-age=86400"
    return response
