"""操作日志 page: who did what, when (Beijing time, as every page), to which object.

An entry stores its object as a type and a key — a database id for some (bills, tokens),
a business key for others (statement and receipt numbers, "L123", usernames). The page
shows each object by its business key and links it to its page; the search finds entries
by bill number, site code, receipt number or line id, including the entries that name the
object only by id (a bill's payment, a site's lines)."""

import re

from django.contrib.auth import get_user_model
from django.db.models import Q
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from towerledger.access.models import ApiToken, AuditEntry, Role
from towerledger.bills.models import Bill
from towerledger.collection.models import Receipt, Statement
from towerledger.exchange.models import ImportJob
from towerledger.settlement.models import Dispute, Line
from towerledger.web import params
from towerledger.web.labels import action_label, object_label
from towerledger.web.tables import cell, choice_filter, header, paginate, roles, text_filter

LINE_KEY = re.compile(r"^[Ll]?(\d{1,18})$")   # a database id fits a 64-bit integer
CAP = 2000     # ids a search expands to at most (a broad bill-number fragment)


def search(qs, q: str):
    """Entries whose key, user or reason holds q, or whose object is the bill, site,
    receipt or line q names."""
    cond = Q(object_key__icontains=q) | Q(user__username__icontains=q) | Q(reason__icontains=q)
    # a receipt's write-offs are logged against each line, naming the receipt
    cond |= Q(after__receipt=q) | Q(before__receipt=q)
    bills = set(Bill.objects.filter(bill_no__icontains=q).values_list("pk", flat=True)[:CAP])
    lines = set(Line.objects.filter(site__site_code__iexact=q).values_list("pk", flat=True)[:CAP])
    if m := LINE_KEY.match(q):
        lines.add(int(m.group(1)))
    if lines:
        bills |= set(Line.objects.filter(pk__in=lines, bill__isnull=False)
                     .values_list("bill_id", flat=True)[:CAP])
        disputes = Dispute.objects.filter(line_id__in=lines).values_list("pk", flat=True)[:CAP]
        cond |= Q(object_type="line", object_key__in=[f"L{pk}" for pk in lines])
        cond |= Q(object_type="dispute", object_key__in=[f"D{pk}" for pk in disputes])
    if bills:
        cond |= Q(object_type="bill", object_key__in=[str(pk) for pk in bills])
    return qs.filter(cond)


def _ids(entries, kind, pattern=r"^(\d{1,18})$"):
    out = set()
    for e in entries:
        if e.object_type == kind and (m := re.match(pattern, e.object_key)):
            out.add(int(m.group(1)))
    return out


def _keys(entries, kind):
    return {e.object_key for e in entries if e.object_type == kind}


class Objects:
    """The business key and page of every entry's object on one page of the log, looked
    up in one query per object type."""

    def __init__(self, entries):
        bill_ids = _ids(entries, "bill")
        self.bills = {str(b.pk): b for b in Bill.objects.filter(pk__in=bill_ids)
                      .select_related("account")}
        self.bills_by_key = {}
        for key in _keys(entries, "bill") - set(self.bills):
            acc, _sep, no = key.partition("/")   # a correction names "account/bill no"
            b = Bill.objects.filter(account__account_no=acc, bill_no=no).order_by(
                "-dup_seq").first()
            if b:
                self.bills_by_key[key] = b
        self.lines = set(Line.objects.filter(pk__in=_ids(entries, "line", r"^L(\d{1,18})$"))
                         .values_list("pk", flat=True))
        self.disputes = dict(Dispute.objects.filter(
            pk__in=_ids(entries, "dispute", r"^D(\d{1,18})$")).values_list("pk", "line_id"))
        self.statements = dict(Statement.objects.filter(
            number__in=_keys(entries, "statement")).values_list("number", "pk"))
        self.receipts = dict(Receipt.objects.filter(
            receipt_no__in=_keys(entries, "receipt")).values_list("receipt_no", "pk"))
        self.users = dict(get_user_model().objects.filter(
            username__in=_keys(entries, "user")).values_list("username", "pk"))
        self.tokens = {str(t.pk): t for t in ApiToken.objects.filter(
            pk__in=_ids(entries, "api_token")).select_related("user")}
        known = {"bill", "bills", "line", "dispute", "statement", "receipt", "user", "api_token",
                 "account", "month", "audit_rule", "tax_factor"}
        self.jobs = {}
        for e in entries:
            if e.object_type not in known and e.action == "import":
                job = ImportJob.objects.filter(kind=e.object_type, filename=e.object_key,
                                               created_at__lte=e.at).order_by("-pk").first()
                if job:
                    self.jobs[e.pk] = job.pk

    def show(self, e) -> tuple[str, str | None]:
        """(text, url or None) of the entry's object."""
        t, key = e.object_type, e.object_key
        if t == "bill" and (b := self.bills.get(key) or self.bills_by_key.get(key)):
            return f"{b.account.account_no}/{b.bill_no}", reverse("bill", args=[b.pk])
        if t == "line" and key[1:].isdigit() and int(key[1:]) in self.lines:
            return key, reverse("line", args=[int(key[1:])])
        if t == "dispute" and key[1:].isdigit() and (ln := self.disputes.get(int(key[1:]))):
            return f"{key} (L{ln})", reverse("line", args=[ln])
        if t == "statement" and key in self.statements:
            return key, reverse("statement", args=[self.statements[key]])
        if t == "receipt" and key in self.receipts:
            return key, reverse("receipt", args=[self.receipts[key]])
        if t == "user" and key in self.users:
            return key, reverse("person", args=[self.users[key]])
        if t == "api_token" and (tok := self.tokens.get(key)):
            return f"{tok.name} ({tok.user.username})", reverse("person", args=[tok.user_id])
        if t == "account":
            return key, reverse("accounts") + "?q=" + key.partition("/")[0]
        if t == "month":
            return key, reverse("month_close")
        if t == "audit_rule":
            return key.partition(":")[2] or key, reverse("audit_settings")
        if t == "tax_factor":
            return key, reverse("tax_factors")
        if e.pk in self.jobs:
            return key, reverse("import_job", args=[self.jobs[e.pk]])
        return key, None


@roles(Role.PROVINCE_ADMIN)
def audit_log(request):
    qs = AuditEntry.objects.select_related("user")
    q, action = params.text(request.GET, "q"), params.text(request.GET, "action")
    if q:
        qs = search(qs, q)
    if action:
        qs = qs.filter(action=action)
    page, query = paginate(request, qs)
    entries = list(page)
    objects = Objects(entries)
    rows = []
    for e in entries:
        text, url = objects.show(e)
        rows.append({"cells": [
            cell(f"{timezone.localtime(e.at):%Y-%m-%d %H:%M:%S}", cls="nowrap"),
            cell(e.user or _("system")), cell(action_label(e.action)),
            cell(object_label(e.object_type)), cell(text, url), cell(e.reason, cls="wrap")]})
    actions = AuditEntry.objects.values_list("action", flat=True).distinct().order_by("action")
    return render(request, "web/list.html", {
        "title": _("Audit log"), "page": page, "query": query, "rows": rows,
        "headers": [header(h) for h in (_("When (Beijing time)"), _("Who"), _("Action"),
                                        _("Object"), _("Key"), _("Why"))],
        "filters": [text_filter(request, "q", _("Bill no, site code, receipt no, line id, "
                                                "user or reason")),
                    choice_filter(request, "action", _("Action"),
                                  sorted(((a, action_label(a)) for a in actions),
                                         key=lambda c: c[1]))]})
