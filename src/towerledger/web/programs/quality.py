"""Pages of the quality program."""

urlpatterns = []
HUB = []
