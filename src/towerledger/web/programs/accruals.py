"""Pages of the accruals program."""

urlpatterns = []
HUB = []
