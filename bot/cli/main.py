"""`python -m bot <command>`: one entry point for the project's command-line tools.

Why: each module that offers a command exposes `register(subparsers)`; adding a command means
adding its module name to COMMAND_MODULES, nothing else. Modules are imported only when the
parser is built, and heavy libraries (spaCy) only when a command needs them.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

# Modules with a `register(subparsers)` function, in the order shown by --help.
COMMAND_MODULES: tuple[str, ...] = (
    "bot.knowledge.ingest", "bot.knowledge.validate", "bot.knowledge.search",
    "bot.serving.channels", "bot.serving.purge_trackers", "bot.serving.web.cli",
    "bot.maintenance.update", "bot.maintenance.evaluate", "bot.maintenance.deploy", "bot.cli.chat", "bot.maintenance.qa_set",
    "bot.maintenance.inbox",
)


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every registered subcommand."""
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="show debug messages")
    subparsers = parser.add_subparsers(dest="command", metavar="command", required=True)
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name is None or not name.startswith(exc.name):
                raise  # a dependency is missing: that is a real error
            # A command module not written yet must not break the other commands.
            print(f"warning: command module {name} not found, skipped", file=sys.stderr)
            continue
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, run the chosen command, return its exit code."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(message)s",
        stream=sys.stderr,
    )
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
