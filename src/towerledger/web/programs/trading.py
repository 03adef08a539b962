"""Pages of the trading program."""

urlpatterns = []
HUB = []
