"""Pages of the rent program."""

urlpatterns = []
HUB = []
