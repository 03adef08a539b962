"""Login (Chinese by default). Throttling and the login audit are the same for this page and
the Django admin's: both go through authenticate(), see access/throttle.py."""

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.utils.translation import gettext as _

from towerledger.access.throttle import REFUSED


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
