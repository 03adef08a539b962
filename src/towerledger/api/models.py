"""The API's token model now lives in access (access.models.ApiToken, same table), below the
web pages that issue tokens and the API that accepts them; the name stays importable here."""

from towerledger.access.models import ApiToken

__all__ = ["ApiToken"]
