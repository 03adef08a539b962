"""Pages of the theft program."""

urlpatterns = []
HUB = []
