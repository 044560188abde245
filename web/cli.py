"""``fundledger serve``: the web application under waitress, a production WSGI server
(added to the command line through the ``fundledger.commands`` entry points: the ledger
imports nothing from ``web``). ``flask --app web run`` serves it for development."""

from __future__ import annotations

import logging

import click


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
@click.option("--threads", default=8, show_default=True, type=int, help="Worker threads.")
@click.pass_obj
def serve(obj, host, port, threads):
    """Serve the web application (waitress) until stopped."""
    from waitress import serve as waitress_serve

    from ledger.config import database_url
    from web import create_app

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    app = create_app({"DATABASE_URL": obj.url or database_url()})
    click.echo(f"fundledger web application on http://{host}:{port}/")
    waitress_serve(app, host=host, port=port, threads=threads, ident="fundledger")
