"""`python -m bot.serving.web`: same as `python -m bot web`."""

from bot.serving.web.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
