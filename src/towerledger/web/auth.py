"""Login (Chinese by default). Throttling and the login audit are the same for this page and
the Django admin's: both go through authenticate(), see access/throttle.py."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model, update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from towerledger.access.people import change_own_password
from towerledger.access.throttle import REFUSED
from towerledger.domain.errors import DomainError


class LoginView(auth_views.LoginView):
    template_name = "web/login.html"
    redirect_authenticated_user = True

    def form_invalid(self, form):
        if getattr(self.request, REFUSED, False):
            minutes = settings.LOGIN_FAILURE_WINDOW_SECONDS // 60
            return self.render_to_response(self.get_context_data(form=form, throttled=_(
                "Too many failed attempts. Try again in %(minutes)d minutes.")
                % {"minutes": minutes}))
        return super().form_invalid(form)


# ---- the user's own password ---------------------------------------------------------------

# what a user who must change their password may still open (besides static files)
OPEN_WHILE_CHANGING = ("/password/", "/logout/", "/login/", "/i18n/", "/static/", "/api/")


@login_required
def password(request):
    """修改密码: the user's own new password. Somebody else's choice (a new user, a reset)
    must be replaced here before any other page opens (``PasswordChangeRequired``)."""
    forced = _must_change(request.user)
    error = ""
    if request.method == "POST":
        new = request.POST.get("new_password", "")
        try:
            if new != request.POST.get("new_password2", ""):
                raise DomainError("两次输入的新密码不一致", "the two new passwords differ")
            change_own_password(request.user, request.POST.get("old_password", ""), new)
        except DomainError as exc:
            error = exc.message(get_language())
        else:
            update_session_auth_hash(request, get_user_model().objects.get(pk=request.user.pk))
            messages.success(request, _("Your password has been changed."))
            return redirect("home")
    return render(request, "web/password.html", {"forced": forced, "error": error})


def _must_change(user) -> bool:
    profile = getattr(user, "profile", None) if user.is_authenticated else None
    return bool(profile and profile.must_change_password)


class PasswordChangeRequired:
    """Sends a user whose password somebody else chose to /password/ until they change it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and _must_change(user) \
                and not request.path.startswith(OPEN_WHILE_CHANGING):
            return redirect("password")
        return self.get_response(request)
