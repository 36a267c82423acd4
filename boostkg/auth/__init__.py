"""Stewards' bearer tokens: created by an administrator, stored only as salted hashes."""

from boostkg.auth.tokens import Steward, TokenInfo, TokenStore, token_store_path

__all__ = ["Steward", "TokenInfo", "TokenStore", "token_store_path"]
