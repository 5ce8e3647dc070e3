"""Alembic environment: runs on the connection consentline hands it.

``consentline.storage.engine.migrate()`` passes its connection in
``config.attributes["connection"]``; run by hand (``alembic -x url=...``) it
opens one from the ``url`` argument.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from consentline.storage.schema import metadata

config = context.config
connection = config.attributes.get("connection")

if connection is not None:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option(
        "sqlalchemy.url"
    )
    if not url:
        raise SystemExit("give the database: alembic -x url=sqlite:///consent.db upgrade head")
    engine = create_engine(url)
    with engine.begin() as conn:
        context.configure(connection=conn, target_metadata=metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
