"""Command-line layer: `python -m bot <command>`.

The top layer: each command lives in the module of its layer (a `register(subparsers)` function)
and `cli.main` only gathers them; `cli.chat` talks to a running assistant. Rasa's own commands
(`rasa train`, `rasa run`, `rasa test`) are run as they are: nothing of Rasa is patched.
"""
