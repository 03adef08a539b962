"""API tokens: the services live in access.tokens (below the web pages that issue tokens
and the API that accepts them); the names stay importable here."""

from towerledger.access.tokens import (
    PREFIX,
    TOUCH_EVERY,
    create_token,
    hash_token,
    issue_token,
    revoke_token,
    tokens_of,
    user_for_token,
)

__all__ = ["PREFIX", "TOUCH_EVERY", "create_token", "hash_token", "issue_token",
           "revoke_token", "tokens_of", "user_for_token"]
