"""FastAPI dependencies: the app's store and settings."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Request

from boostkg.config import Settings
from boostkg.store import EmbeddedStore


def get_store(request: Request) -> EmbeddedStore:
    """The store opened by the app's lifespan."""
    return cast(EmbeddedStore, request.app.state.store)


def get_app_settings(request: Request) -> Settings:
    """The settings the app was created with."""
    return cast(Settings, request.app.state.settings)


StoreDep = Annotated[EmbeddedStore, Depends(get_store)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]
