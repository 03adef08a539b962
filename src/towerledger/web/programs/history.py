"""Pages of the history program."""

urlpatterns = []
HUB = []
