"""Pages of the decommission program."""

urlpatterns = []
HUB = []
