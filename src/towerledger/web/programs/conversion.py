"""Pages of the conversion program."""

urlpatterns = []
HUB = []
