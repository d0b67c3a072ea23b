"""`python -m bot.web`: same as `python -m bot web`."""

from bot.web.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
