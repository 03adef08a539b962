"""专项 Programs: one page listing the programs' pages the user's role may open, and the
redirects from where the programs' pages lived before /programs/<name>/."""

from urllib.parse import quote

from django.contrib.auth.decorators import login_required
from django.http import HttpResponsePermanentRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import get_language

from towerledger.access.scope import role_of
from towerledger.web.programs import modules


def entries(user) -> list[dict]:
    role = role_of(user)
    zh = (get_language() or "zh-hans").startswith("zh")
    out = []
    for module in modules():
        for name, label_zh, label_en, roles in module.HUB:
            if roles and role not in roles:
                continue
            out.append({"url": reverse(name), "label": label_zh if zh else label_en,
                        "other": label_en if zh else label_zh})
    return out


@login_required
def hub(request):
    return render(request, "web/programs/hub.html", {"entries": entries(request.user)})


def moved(request, to: str, rest: str = ""):
    """A program page's old address → its place under /programs/, query string kept: 301 for
    a GET or HEAD (bookmarks, links in e-mails and docs), 308 for a form posted from a page
    loaded before the move (the method and body are kept)."""
    url = f"{reverse('programs')}{to}/{quote(rest, safe='/')}"
    if request.META.get("QUERY_STRING"):
        url += "?" + request.META["QUERY_STRING"]
    response = HttpResponsePermanentRedirect(url)
    if request.method not in ("GET", "HEAD"):
        response.status_code = 308
    return response
