"""The HTTP edge: ``create_app(client, settings)``; routes stay thin over the library."""

from __future__ import annotations

from consentline.http.app import create_app

__all__ = ["create_app"]
