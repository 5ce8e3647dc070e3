"""``consentline serve``: run the HTTP API with uvicorn."""

from __future__ import annotations

import os
from typing import Annotated

import typer
import uvicorn

from consentline import connect, web
from consentline.cli._common import ENV_URL, JsonFlag, emit, errors_to_exit, global_options
from consentline.http import create_app
from consentline.http.logging import uvicorn_log_config
from consentline.jobs.alert_delivery import AlertDelivery
from consentline.jobs.mail import Mailer
from consentline.jobs.reply_delivery import CREDENTIALS_S, ReplyDelivery
from consentline.jobs.webhook_delivery import WebhookDelivery
from consentline.jobs.worker import Job, Worker
from consentline.services.campaigns import Attribution
from consentline.settings import Settings


def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="TCP port to listen on.", min=1)] = 8000,
    worker: Annotated[
        bool,
        typer.Option(
            "--worker/--no-worker",
            help="Run the background worker (replies, outbound webhooks) in this process.",
        ),
    ] = True,
    as_json: JsonFlag = False,
) -> None:
    """Run the HTTP API (JSON, `Authorization: Bearer <key>`) until interrupted.

    Settings come from the environment: CONSENTLINE_DATABASE_URL (or --db),
    CONSENTLINE_ADMIN_KEY (the installation-admin key; without it one is
    generated and printed once, on the first start), CONSENTLINE_PUBLIC_URL and
    CONSENTLINE_MAX_BODY, CONSENTLINE_OUTBOUND_ALLOW (host names and CIDR ranges such
    as 127.0.0.0/8 that outbound requests may reach besides public addresses).
    Access logs mask phone numbers. The background worker
    sends queued replies through the providers and consent changes to webhook
    subscribers; several processes may run it (each subscription is leased). With --json, one line
    {"url": ..., "admin_key": ...} is printed before the server starts
    (admin_key is null unless it was just generated).

    No log line carries a phone number or a message text (C23): numbers are
    masked wherever they appear, access lines print query values other than a
    few settings as ***, and tracebacks keep their frames and exception classes
    but withhold the messages.

    Example:

        consentline --db sqlite:///var/consentline.db serve --port 8000
        curl -H "Authorization: Bearer $KEY" "http://127.0.0.1:8000/v1/check?..."
    """
    with errors_to_exit(as_json):
        settings = Settings.from_env({**os.environ, ENV_URL: global_options(ctx).url})
        erasure_key = settings.erasure_key
        client = connect(
            settings.database_url.reveal(),
            erasure_key=None if erasure_key is None else erasure_key.reveal(),
        )
        keys = client.api_keys()
        admin = settings.admin_key
        created = keys.bootstrap(None if admin is None else admin.reveal())
    if as_json:
        emit({"url": f"http://{host}:{port}", "admin_key": created})
    elif created is not None:
        typer.echo(
            "Installation admin key (shown this once; store it now):\n"
            f"  {created}\n"
            "Set CONSENTLINE_ADMIN_KEY to choose your own instead."
        )
    allow = settings.outbound_allow  # beyond public hosts, what the senders may reach
    mailer = Mailer.from_env(os.environ)
    jobs: list[Job] = [
        ReplyDelivery(
            client.units,
            clock=client.now,
            directory=client.directory,
            credentials=client.provider_credentials(cache_seconds=CREDENTIALS_S),
            allow=allow,
        ),
        WebhookDelivery(
            client.units, clock=client.now, directory=client.directory, allow=allow, mailer=mailer
        ),
        Attribution(client.units, clock=client.now, directory=client.directory),
        AlertDelivery(
            client.units, clock=client.now, directory=client.directory, allow=allow, mailer=mailer
        ),
    ]
    app = create_app(client, settings, keys=keys, workers=[Worker(jobs)] if worker else [])
    web.install(app, client, settings)  # /ui/ and /join/ (docs/web-ui.md)
    try:
        uvicorn.run(app, host=host, port=port, log_config=uvicorn_log_config())
    finally:
        client.close()
