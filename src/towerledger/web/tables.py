"""Small helpers the list pages share: cells, paging, filters and role gates."""

from functools import wraps
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404

from towerledger.access.scope import role_of
from towerledger.web.templatetags.ledger import money

PAGE_SIZE = 50


def cell(text, url=None, cls="", badge=None):
    return {"text": "" if text is None else text, "url": url, "cls": cls, "badge": badge}


def num(value, places=2):
    return cell(money(value, places), cls="num")


def header(label, cls=""):
    return {"label": label, "cls": cls}


def paginate(request, qs, size=PAGE_SIZE, count=None):
    """The requested page of ``qs``; ``count``: its number of rows when already known (a
    totals query counted them), so the pager does not count again."""
    paginator = Paginator(qs, size)
    if count is not None:
        paginator.count = count   # Paginator.count is a cached property
    page = paginator.get_page(request.GET.get("page"))
    query = urlencode([(k, v) for k, v in request.GET.items() if k != "page" and v])
    return page, query


class ById:
    """The rows of the ordered ``qs`` a page at a time by id: the page's ids first, by a
    narrow query that sorts only the order's columns, then those rows with what ``qs``
    selects with them, in the same order. Sorting thousands of wide rows (an audit
    finding's messages and figures beside its bill, account and assignee) to keep fifty
    costs more than the sort itself."""

    ordered = True   # for the Paginator: the order is ``qs``'s

    def __init__(self, qs):
        self.qs = qs

    def count(self) -> int:
        return self.qs.count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, part):
        if not isinstance(part, slice):
            return self[part:part + 1][0]
        ids = list(self.qs.values_list("pk", flat=True)[part])
        rows = {row.pk: row for row in self.qs.order_by().filter(pk__in=ids)}
        return [rows[i] for i in ids]


def text_filter(request, name, label, placeholder=""):
    return {"name": name, "label": label, "value": request.GET.get(name, ""),
            "placeholder": placeholder}


def choice_filter(request, name, label, choices):
    return {"name": name, "label": label, "value": request.GET.get(name, ""),
            "choices": list(choices)}


def roles(*allowed):
    """Login required, and the page exists only for these roles (404 otherwise, so a page
    outside a user's remit looks exactly like one that does not exist)."""
    def wrap(view):
        @login_required
        @wraps(view)
        def inner(request, *args, **kwargs):
            if role_of(request.user) not in allowed:
                raise Http404
            return view(request, *args, **kwargs)
        return inner
    return wrap
