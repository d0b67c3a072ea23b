"""`python -m bot inbox [list|add-nlu|add-qa]`: the maintainers' inbox on the command line.

Why: what the assistant did not understand (NLU fallback, low confidence, "pas utile" in the chat)
is the best source of new training and test data. `list` shows it redacted and grouped (one line
per question, with a count and a key); `add-nlu KEY --intent I` writes a line as an NLU example to
data/nlu/inbox.yml, `add-qa KEY --category C --expect-any ...` as a QA case to
tests/qa/questions.yml (checked with the QA set's own loader); the next `make update` trains and
gates with them. The same inbox is the staff console's /staff/inbox (bot/serving/web/inbox_views.py).
The logic is in bot/serving/inbox.py and inbox_files.py (the console may not import this layer).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bot.knowledge.paths import repo_root
from bot.maintenance.qa_set import load_items
from bot.serving.inbox import DEFAULT_MIN_CONFIDENCE, DEFAULT_SIMILARITY, Inbox, scan
from bot.serving.inbox_files import InboxWriteError, add_nlu_example, add_qa_case


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "inbox", help="messages not understood or judged 'pas utile', grouped; turn one into an NLU example or QA case",
        description=__doc__.splitlines()[0],
    )
    _store_options(parser)
    parser.set_defaults(func=run_list, handler=run_list, json=False, limit=50)
    actions = parser.add_subparsers(dest="inbox_command", metavar="action")

    listing = actions.add_parser("list", help="the inbox lines, most asked first (default action)")
    _store_options(listing)
    listing.add_argument("--json", action="store_true", help="print the inbox as JSON (like /api/staff/inbox)")
    listing.add_argument("--limit", type=int, default=50, help="lines shown (default %(default)s; 0: all)")
    listing.set_defaults(func=run_list, handler=run_list)

    nlu = actions.add_parser("add-nlu", help="write a line as an NLU example of an intent (data/nlu/inbox.yml)")
    _line_options(nlu)
    nlu.add_argument("--intent", required=True, help="an intent of domain.yml")
    nlu.set_defaults(func=run_add_nlu, handler=run_add_nlu)

    qa = actions.add_parser("add-qa", help="write a line as a QA case with the answer expected (tests/qa/questions.yml)")
    _line_options(qa)
    qa.add_argument("--category", required=True, help="a category of tests/qa/README.md (gap, detail, topic, ...)")
    qa.add_argument("--expect-all", action="append", default=[], metavar="TEXT", help="must be in the reply (repeatable)")
    qa.add_argument("--expect-any", action="append", default=[], metavar="TEXT", help="one of them must be in the reply")
    qa.add_argument("--forbid", action="append", default=[], metavar="TEXT", help="must not be in the reply")
    qa.add_argument("--id", default="", help="item id (default: inbox-NN, the next free number)")
    qa.add_argument("--source", default="", help="page of data/pages/ the expected strings are copied from")
    qa.set_defaults(func=run_add_qa, handler=run_add_qa)


def _store_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--endpoints", type=Path, default=argparse.SUPPRESS,
                        help="endpoints file of the tracker store (default: as the web service, $OIM_ENDPOINTS/$OIM_STORE)")
    parser.add_argument("--retention-days", type=float, default=argparse.SUPPRESS,
                        help="leave out older messages (default: $OIM_TRACKER_RETENTION_DAYS, as the purge; 0: keep all)")
    parser.add_argument("--below", type=float, default=argparse.SUPPRESS,
                        help=f"confidence under which a message is listed (default {DEFAULT_MIN_CONFIDENCE})")
    parser.add_argument("--similarity", type=float, default=argparse.SUPPRESS,
                        help=f"how alike two messages must be to share a line, 0-1 (default {DEFAULT_SIMILARITY})")


def _line_options(parser: argparse.ArgumentParser) -> None:
    _store_options(parser)
    parser.add_argument("key", nargs="?", default="", help="the line's key, as `inbox list` shows it")
    parser.add_argument("--variant", type=int, default=1, help="which phrasing of the line (1: the most frequent)")
    parser.add_argument("--text", default="", help="write this text instead of a line (it is redacted too)")
    parser.add_argument("--project", type=Path, default=repo_root(), help=argparse.SUPPRESS)


def _inbox(args: argparse.Namespace) -> Inbox:
    """The inbox of the store the web service uses, with the same retention as the purge."""
    from bot.serving.web.config import WebConfig
    from bot.serving.web.conversations import ConversationReader

    overrides = {"endpoints": getattr(args, "endpoints", None)}
    config = WebConfig.from_env().with_overrides(**overrides)
    retention = getattr(args, "retention_days", config.retention_days)
    return scan(ConversationReader(config.endpoints), retention_days=retention,
                min_confidence=getattr(args, "below", DEFAULT_MIN_CONFIDENCE),
                similarity=getattr(args, "similarity", DEFAULT_SIMILARITY))


def _fail(message: str) -> int:
    print(f"[oim] ERROR: {message}", file=sys.stderr)
    return 2


def run_list(args: argparse.Namespace) -> int:
    from bot.serving.tracker_stores import TrackerStoreConfigError
    from bot.serving.web.config import ConfigError

    try:
        inbox = _inbox(args)
    except (ConfigError, TrackerStoreConfigError) as error:
        return _fail(str(error))
    if args.json:
        print(json.dumps(inbox.as_json(), ensure_ascii=False, indent=2))
        return 0
    print(f"{len(inbox.lines)} line(s), {inbox.messages} message(s) in {inbox.scanned} conversation(s)"
          + (" (store only partly read)" if inbox.truncated else ""))
    shown = inbox.lines if args.limit <= 0 else inbox.lines[: args.limit]
    for line in shown:
        reasons = ", ".join(f"{name} {count}" for name, count in line.reasons.items())
        intents = ", ".join(f"{name} {count}" for name, count in line.intents[:3])
        print(f"\n[{line.key}] {line.count}× in {line.conversations} conversation(s) · {reasons} · NLU: {intents}")
        for number, (text, count) in enumerate(line.variants, 1):
            print(f"   {number}. {text}  ({count}×)")
    if len(shown) < len(inbox.lines):
        print(f"\n… {len(inbox.lines) - len(shown)} more line(s) (--limit 0 shows all)")
    return 0


def _chosen_text(args: argparse.Namespace) -> str:
    """The --text given, else the chosen phrasing of the line KEY (read again from the store)."""
    if args.text:
        return str(args.text)
    if not args.key:
        raise InboxWriteError("give the line's key (python -m bot inbox list) or --text")
    line = _inbox(args).find(args.key)
    if line is None:
        raise InboxWriteError(f"no inbox line {args.key} (keys change only when a line's most frequent phrasing does)")
    if not 1 <= args.variant <= len(line.variants):
        raise InboxWriteError(f"--variant must be between 1 and {len(line.variants)}")
    return line.variants[args.variant - 1][0]


def run_add_nlu(args: argparse.Namespace) -> int:
    try:
        result = add_nlu_example(args.project, _chosen_text(args), args.intent)
    except (InboxWriteError, ValueError, RuntimeError) as error:
        return _fail(str(error))
    verb = "added to" if result.written else "already in"
    print(f"{result.text!r} {verb} {result.path} ({result.detail}); `make update` trains and gates with it")
    return 0


def run_add_qa(args: argparse.Namespace) -> int:
    try:
        result = add_qa_case(args.project, _chosen_text(args), category=args.category, expect_all=args.expect_all,
                             expect_any=args.expect_any, forbid=args.forbid, item_id=args.id, source=args.source,
                             validate=load_items)
    except (InboxWriteError, ValueError, RuntimeError) as error:
        return _fail(str(error))
    print(f"QA item {result.detail} ({result.text!r}) added to {result.path}; `make update` gates with it")
    return 0
