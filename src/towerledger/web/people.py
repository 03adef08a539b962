"""People and access (人员与权限): the province admin's pages to add users with a role and
scope, edit and deactivate them, reset passwords, and issue and revoke operator users' API
tokens. The services are access.people and access.tokens; every change is in the audit log.

A password or token the system makes up is shown once, in the response to the POST that
made it (never in a redirect, a message kept in the session, or the log)."""

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from towerledger.access import people, tokens
from towerledger.access.models import ApiToken, AuditEntry, Role
from towerledger.domain.errors import DomainError
from towerledger.org.models import City, Operator
from towerledger.web.tables import paginate, roles

ADMIN = (Role.PROVINCE_ADMIN,)


def _users():
    return get_user_model().objects.select_related("profile__city", "profile__operator")


def _choices():
    return {"roles": Role.choices, "cities": City.objects.order_by("name"),
            "operators": Operator.objects.order_by("code")}


def _id(values, name):
    """A record id from a form or query (anything else: none)."""
    value = values.get(name, "").strip()
    return int(value) if value.isascii() and value.isdigit() and len(value) < 18 else None


def _pick(values, name, allowed):
    value = values.get(name, "")
    return value if value in allowed else ""


def _scope_from(post):
    """Role, city and operator as the form sent them (an unknown id is no city/operator)."""
    role = post.get("role", "")
    city, operator = _id(post, "city"), _id(post, "operator")
    city = City.objects.filter(pk=city).first() if city else None
    operator = Operator.objects.filter(pk=operator).first() if operator else None
    return role, city, operator


@roles(*ADMIN)
def people_list(request):
    qs = _users().order_by("-is_active", "username")
    q = request.GET.get("q", "").strip()[:150]
    role = _pick(request.GET, "role", Role.values)
    state = _pick(request.GET, "state", ("active", "inactive"))
    if q:
        qs = qs.filter(Q(username__icontains=q) | Q(first_name__icontains=q)
                       | Q(email__icontains=q))
    if role:
        qs = qs.filter(profile__role=role)
    if state:
        qs = qs.filter(is_active=state == "active")
    page, query = paginate(request, qs)
    return render(request, "web/people.html", {
        "page": page, "query": query, "q": q, "role": role, "state": state, **_choices()})


@roles(*ADMIN)
def person_new(request):
    form = {}
    if request.method == "POST":
        form = request.POST
        role, city, operator = _scope_from(request.POST)
        try:
            user, generated = people.create_user(
                request.POST.get("username", ""), role, city=city, operator=operator,
                password=request.POST.get("password", "") or None,
                name=request.POST.get("name", ""), email=request.POST.get("email", ""),
                by=request.user, reason=request.POST.get("reason", ""))
        except DomainError as exc:
            messages.error(request, exc.message(get_language()))
        else:
            messages.success(request, _("User %(name)s created.") % {"name": user.username})
            if generated:
                return _person(request, user, password=generated)
            return redirect("person", user.pk)
    return render(request, "web/person_new.html", {"form": form, **_choices()})


def _person(request, user, password=None, token=None, status=200):
    profile = getattr(user, "profile", None)
    log = AuditEntry.objects.select_related("user").filter(
        Q(object_type="user", object_key=user.username)
        | Q(object_type="api_token", object_key__in=[
            str(pk) for pk in ApiToken.objects.filter(user=user).values_list("pk", flat=True)]))
    return render(request, "web/person.html", {
        "person": user, "profile": profile, "password": password, "new_token": token,
        "tokens": tokens.tokens_of(user), "can_have_tokens": (
            profile is not None and profile.role == Role.OPERATOR and user.is_active),
        "log": log[:20], "is_self": user.pk == request.user.pk, **_choices()}, status=status)


@roles(*ADMIN)
def person(request, pk):
    return _person(request, get_object_or_404(_users(), pk=pk))


def _refused(request, exc, user):
    messages.error(request, exc.message(get_language()))
    return redirect("person", user.pk)


@require_POST
@roles(*ADMIN)
def person_edit(request, pk):
    user = get_object_or_404(_users(), pk=pk)
    role, city, operator = _scope_from(request.POST)
    try:
        people.update_user(user, role=role or None, city=city or "", operator=operator or "",
                           name=request.POST.get("name", ""),
                           email=request.POST.get("email", ""), by=request.user,
                           reason=request.POST.get("reason", ""))
    except DomainError as exc:
        return _refused(request, exc, user)
    messages.success(request, _("Saved."))
    return redirect("person", user.pk)


@require_POST
@roles(*ADMIN)
def person_password(request, pk):
    user = get_object_or_404(_users(), pk=pk)
    try:
        generated = people.reset_password(
            user, request.POST.get("password", "") or None, by=request.user,
            reason=request.POST.get("reason", ""))
    except DomainError as exc:
        return _refused(request, exc, user)
    messages.success(request, _("Password of %(name)s reset.") % {"name": user.username})
    if generated:
        return _person(request, user, password=generated)
    return redirect("person", user.pk)


@require_POST
@roles(*ADMIN)
def person_active(request, pk):
    user = get_object_or_404(_users(), pk=pk)
    active = request.POST.get("active") == "1"
    try:
        people.set_active(user, active, by=request.user, reason=request.POST.get("reason", ""))
    except DomainError as exc:
        return _refused(request, exc, user)
    messages.success(request, _("%(name)s can log in again.") % {"name": user.username}
                     if active else
                     _("%(name)s deactivated: no login, no API calls.") % {"name": user.username})
    return redirect("person", user.pk)


@require_POST
@roles(*ADMIN)
def person_token(request, pk):
    user = get_object_or_404(_users(), pk=pk)
    try:
        token, raw = tokens.issue_token(user, request.POST.get("name", ""), by=request.user)
    except DomainError as exc:
        return _refused(request, exc, user)
    messages.success(request, _("API token %(name)s issued.") % {"name": token.name})
    return _person(request, user, token=raw)


@require_POST
@roles(*ADMIN)
def person_token_revoke(request, pk, token_pk):
    user = get_object_or_404(_users(), pk=pk)
    if not ApiToken.objects.filter(pk=token_pk, user=user).exists():
        raise Http404
    token = tokens.revoke_token(token_pk, by=request.user, reason=request.POST.get("reason", ""))
    messages.success(request, _("API token %(name)s revoked.") % {"name": token.name})
    return redirect("person", user.pk)
