"""`python -m bot web [--host H] [--port P]`: run the web service until Ctrl-C.

Why a separate module: `bot/cli/main.py` imports command modules to build its parser; this one
imports aiohttp and Rasa only when the command actually runs.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import warnings


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default=None, help="interface to listen on (default $OIM_WEB_HOST or 127.0.0.1)")
    parser.add_argument("--port", type=int, default=None, help="port (default $OIM_WEB_PORT or 8080)")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("web", help="run the web chat, staff console and /health (port 8080)")
    _add_arguments(parser)
    parser.set_defaults(func=run_from_args, handler=run_from_args)


def _quiet_library_warnings() -> None:
    """Rasa's imports print pages of deprecation warnings that hide our own messages."""
    os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
    import rasa.shared.utils.validation  # noqa: F401 - Rasa and Sanic install their warning filters
    import sanic  # noqa: F401 - at import: ours must come after

    for category in (DeprecationWarning, PendingDeprecationWarning, UserWarning):
        warnings.filterwarnings("ignore", category=category)


def run_from_args(args: argparse.Namespace) -> int:
    _quiet_library_warnings()
    from aiohttp import web

    from bot.serving.tracker_stores import TrackerStoreConfigError
    from bot.serving.web.app import create_app
    from bot.serving.web.config import ConfigError, WebConfig

    try:
        config = WebConfig.from_env(host=args.host, port=args.port)
        app = create_app(config)
    except (ConfigError, TrackerStoreConfigError) as error:
        print(f"[oim] ERROR: {error}", file=sys.stderr)
        return 2
    staff = "enabled" if config.staff_enabled else "disabled (set OIM_STAFF_TOKEN)"
    print(f"[oim] web chat on http://{config.host}:{config.port}/ ; staff console {staff};"
          f" Rasa {', '.join(config.rasa_urls)}", file=sys.stderr, flush=True)
    from bot.serving.web.middleware import PathOnlyAccessLogger

    web.run_app(app, host=config.host, port=config.port, print=None, access_log_class=PathOnlyAccessLogger)
    return 0


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(prog="python -m bot.serving.web", description=__doc__.splitlines()[0])
    _add_arguments(parser)
    return run_from_args(parser.parse_args(argv))
