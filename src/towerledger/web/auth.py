"""Login (Chinese by default), throttled per username and per client address, and logged."""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from towerledger.access import audit
from towerledger.access.models import LoginFailure


def client_address(request) -> str:
    return request.META.get("REMOTE_ADDR", "")[:64]


def throttled(username: str, address: str) -> bool:
    since = timezone.now() - timedelta(seconds=settings.LOGIN_FAILURE_WINDOW_SECONDS)
    failures = LoginFailure.objects.filter(at__gte=since)
    by_user = failures.filter(username=username).count() if username else 0
    by_address = failures.filter(address=address).count()
    return max(by_user, by_address) >= settings.LOGIN_MAX_FAILURES


class LoginView(auth_views.LoginView):
    template_name = "web/login.html"
    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        username = request.POST.get("username", "")[:150]
        if throttled(username, client_address(request)):
            minutes = settings.LOGIN_FAILURE_WINDOW_SECONDS // 60
            audit.record(None, "login_refused", "user", username,
                         reason=f"throttled from {client_address(request)}")
            return self.render_to_response(self.get_context_data(
                form=self.get_form(), throttled=_(
                    "Too many failed attempts. Try again in %(minutes)d minutes.")
                % {"minutes": minutes}))
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        username = self.request.POST.get("username", "")[:150]
        LoginFailure.objects.create(username=username, address=client_address(self.request))
        audit.record(None, "login_failed", "user", username,
                     reason=f"from {client_address(self.request)}")
        return super().form_invalid(form)

    def form_valid(self, form):
        response = super().form_valid(form)
        user = form.get_user()
        LoginFailure.objects.filter(Q(username=user.username)).delete()
        audit.record(user, "login", "user", user.username,
                     reason=f"from {client_address(self.request)}")
        return response
