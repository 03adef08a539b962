"""The Content-Security-Policy sent with every response (issue 17).

Pages, the Django admin and the API docs run only scripts served from this site: no inline
script, no ``eval`` (htmx is configured with ``allowEval: false``), no plugin, no framing,
forms post only here. Data reaches scripts through ``json_script`` elements read with
``JSON.parse``, never as code. So even a name imported with ``</script><script>…`` in it
cannot run as the province admin: the template escapes it, and the browser would refuse an
inline script that slipped through.

Styles are as strict: no template carries a ``style`` attribute (layout lives in app.css,
progress bars are ``<progress>``), htmx injects no indicator ``<style>``, and the charts draw
their tooltips on the canvas (ECharts' HTML tooltips carry ``style`` attributes). Scripts
may still set styles through the DOM (ECharts, Swagger UI do): CSP does not govern that.

``TOWERLEDGER_CSP`` in settings replaces the policy (a site that serves, say, a reporting
frame from another host); a view that sets its own header keeps it.
"""

from django.conf import settings

POLICY = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "frame-ancestors 'none'",
    "form-action 'self'",
))
HEADER = "Content-Security-Policy"


def policy() -> str:
    return getattr(settings, "TOWERLEDGER_CSP", None) or POLICY


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if HEADER not in response:
            response[HEADER] = policy()
        return response
