"""Pages of the generator program."""

urlpatterns = []
HUB = []
