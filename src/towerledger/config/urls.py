from django.contrib import admin
from django.urls import include, path

from towerledger.api.urls import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("towerledger.web.urls")),
]

# the product's own error pages, in the user's language and with the navigation
handler404 = "towerledger.web.errors.not_found"
handler403 = "towerledger.web.errors.forbidden"
handler500 = "towerledger.web.errors.server_error"
