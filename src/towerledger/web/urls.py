from django.urls import path

from towerledger.web import views

urlpatterns = [
    path("", views.home, name="home"),
]
