"""Command-line layer: `python -m bot <command>` and Rasa's own CLI with our extensions.

The top layer: each command lives in the module of its layer (a `register(subparsers)` function)
and `cli.main` only gathers them; `cli.chat` talks to a running assistant, `cli.rasa_cli` runs
Rasa's command line in-process.
"""
