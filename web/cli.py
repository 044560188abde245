"""``fundledger serve``: the web application under gunicorn, a production WSGI server
(added to the command line through the ``fundledger.commands`` entry points: the ledger
imports nothing from ``web``). ``flask --app web run`` serves it for development.

Several worker processes, each with a few threads: a page is Python work, and one
process runs Python on one core at a time, so processes — two a core, one running
Python while another waits on the database — are what let 8 clients be served at once
on a 2-core host (docs/benchmarks.md). Each worker builds the app
after it is forked (no preloading): its database pool, its figure cache and its sealer
are its own."""

from __future__ import annotations

import logging
import os

import click


def default_workers() -> int:
    """Two a core: while one waits on the database, the other runs Python."""
    return 2 * (os.cpu_count() or 1)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
@click.option(
    "--workers", type=click.IntRange(min=1), default=None,
    help="Worker processes (default: two a core).",
)  # fmt: skip
@click.option(
    "--threads", default=4, show_default=True, type=click.IntRange(min=1),
    help="Threads in each worker.",
)  # fmt: skip
@click.pass_obj
def serve(obj, host, port, workers, threads):
    """Serve the web application (gunicorn) until stopped."""
    from gunicorn.app.base import BaseApplication

    from ledger.config import database_url

    url = obj.url or database_url()
    workers = workers or default_workers()

    class Server(BaseApplication):
        def load_config(self):
            settings = {
                "bind": f"{host}:{port}",
                "workers": workers,
                "threads": threads,
                "worker_class": "gthread",
                "keepalive": 75,
                "timeout": 120,
                "graceful_timeout": 20,
                "accesslog": None,
                "errorlog": "-",
                "loglevel": "info",
                "proc_name": "fundledger",
                "control_socket_disable": True,
            }
            for key, value in settings.items():
                self.cfg.set(key, value)

        def load(self):
            from web import create_app

            logging.basicConfig(
                level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
            )
            return create_app({"DATABASE_URL": url})

    click.echo(
        f"fundledger web application on http://{host}:{port}/ "
        f"({workers} workers × {threads} threads)"
    )
    Server().run()
