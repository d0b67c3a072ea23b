"""`python -m bot.cli.rasa_cli <rasa arguments>`: Rasa's own command line, with bot.nlu.rasa_speedups applied.

Why: our Rasa servers get the guarded speed-ups from bot/serving/startup.py, but `rasa train` and
`rasa test` load no channel (`rasa test nlu --cross-validation` above all: 45 min without them, 8 with
them, on 1,349 examples; DIET trains ~1.4x faster with its batches grouped by length). Same arguments, same outputs, same exit code as `rasa`; plain `rasa` still works, only slower.
"""

from __future__ import annotations

import sys


def main() -> None:
    """Apply the speed-ups, then hand sys.argv over to Rasa's CLI."""
    from bot.nlu import rasa_speedups

    rasa_speedups.apply()
    from rasa.__main__ import main as rasa_main

    sys.argv[0] = "rasa"
    rasa_main()


if __name__ == "__main__":
    main()
