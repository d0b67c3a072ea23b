"""Terminal chat with a running assistant over its REST channel (a `rasa shell` for our server).

Why not `rasa shell` itself: it loads a second copy of the model and its own server; this talks to
the one `make run` started, so what you see is exactly what web and phone users get.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import uuid

import aiohttp

DEFAULT_URL = "http://127.0.0.1:5005/webhooks/rest/webhook"


async def send(session: aiohttp.ClientSession, url: str, sender: str, text: str) -> list[str]:
    """One user message in, the bot's text replies out."""
    async with session.post(url, json={"sender": sender, "message": text}) as response:
        response.raise_for_status()
        return [m.get("text", "") for m in await response.json() if m.get("text")]


async def chat(url: str, sender: str) -> None:
    print("Écrivez votre message (Ctrl-D pour quitter).")
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        loop = asyncio.get_running_loop()
        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if not line:
                return
            if not line.strip():
                continue
            try:
                replies = await send(session, url, sender, line.strip())
            except aiohttp.ClientError as error:
                print(f"(serveur injoignable : {error})")
                continue
            for reply in replies:
                print(f"OIM> {reply}\n")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("chat", help="chat in the terminal with the running assistant")
    parser.add_argument("--url", default=DEFAULT_URL, help="REST webhook of the Rasa server")
    parser.add_argument("--sender", default=None, help="conversation id (default: a new one)")
    parser.set_defaults(func=run_from_args)


def run_from_args(args: argparse.Namespace) -> int:
    asyncio.run(chat(args.url, args.sender or f"terminal-{uuid.uuid4().hex[:8]}"))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.cli.chat")
    sub = parser.add_subparsers(dest="command", required=True)
    register(sub)
    args = parser.parse_args(["chat", *(argv or sys.argv[1:])])
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
