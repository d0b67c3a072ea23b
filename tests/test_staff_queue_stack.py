"""The attention queue and the dashboard end to end: a person asks the real assistant for a human
(leaving a phone number), staff see the conversation in the queue with the number hidden, mark it
handled (the audit goes through Rasa's HTTP API into the tracker store), see who handled it, show
the number on purpose (logged without it) and read the dashboard. On the SQLite stack and on the
Redis topology (docker-compose.yml's: two Rasa replicas sharing Redis).
"""

from __future__ import annotations

import json
import urllib.parse
import uuid
from pathlib import Path

from tests.conftest import TOPOLOGY_STAFF_TOKEN, WEB_STAFF_TOKEN, Topology, web_settings
from tests.stack import RasaServer, WebServer, free_port
from tests.web_app import conversation_url

PHONE = "06 12 34 56 78"


def login(web: WebServer, token: str, name: str) -> dict[str, str]:
    form = urllib.parse.urlencode({"token": token, "name": name}).encode()
    status, headers, _ = web.request("POST", "/staff/login", form, {"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 303, status
    return {"Cookie": headers["set-cookie"].split(";", 1)[0]}


def queue(web: WebServer, bearer: dict[str, str], handled: bool = False) -> dict[str, dict]:
    # (All rows: the stack may also hold the QA replay's hundreds of urgent conversations, listed first.)
    status, _, body = web.request("GET", "/api/staff/queue?limit=2000" + ("&handled=1" if handled else ""), headers=bearer)
    assert status == 200, body
    return {c["sender_id"]: c for c in json.loads(body)["conversations"]}


def flag_handle_and_read(web: WebServer, rasa: RasaServer, token: str) -> None:
    bearer = {"Authorization": f"Bearer {token}"}
    sender = uuid.uuid4().hex
    conversation = f"web-{sender}"
    page_url = conversation_url(conversation, token)
    for text in ("je veux parler à un humain", f"mon numéro est le {PHONE}"):
        status, data = web.chat(sender, text)
        assert status == 200, data

    listed = queue(web, bearer)
    assert conversation in listed and "handoff" in listed[conversation]["reasons"]
    assert listed[conversation]["handled"] is None
    assert "[téléphone]" in listed[conversation]["excerpt"] and PHONE not in json.dumps(listed)

    for path in ("/api/staff/queue", "/api/staff/dashboard", conversation_url(conversation, token, api=True)):
        assert web.request("GET", path)[0] == 401, path
    status, _, _ = web.request("POST", f"{page_url}/handled", b"back=queue",
                               {"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 401

    cookie = login(web, token, "Awa Test")
    page = web.request("GET", "/staff/queue?limit=2000", headers=cookie)[2].decode()
    assert f'href="{page_url}"' in page and PHONE not in page and f"/staff/conversations/{conversation}" not in page
    assert listed[conversation]["ref"] == page_url.rsplit("/", 1)[1]  # what a script puts in the URL
    status, headers, _ = web.request("POST", f"{page_url}/handled", b"back=queue",
                                     {**cookie, "Content-Type": "application/x-www-form-urlencoded"})
    assert status == 303 and headers["location"] == "/staff/queue"

    # The audit is in the conversation, in the tracker store, as Rasa serves it.
    marks = [e["value"] for e in rasa.tracker(conversation)["events"]
             if e.get("event") == "slot" and e.get("name") == "staff_handled"]
    assert [mark["by"] for mark in marks] == ["Awa Test"]

    assert conversation not in queue(web, bearer)  # handled: out of the default view
    handled = queue(web, bearer, handled=True)[conversation]
    assert handled["handled"]["by"] == "Awa Test" and handled["audit"][0]["by"] == "Awa Test"

    page = web.request("GET", page_url, headers=cookie)[2].decode()
    assert "traitée par Awa Test" in page and PHONE not in page and "[téléphone]" in page
    page = web.request("GET", f"{page_url}?show=1", headers=cookie)[2].decode()
    assert PHONE in page
    log = web.log_text()
    assert "showed the personal data" in log and "'Awa Test'" in log and PHONE not in log

    status, _, body = web.request("GET", "/api/staff/dashboard?jours=1", headers=bearer)
    board = json.loads(body)
    assert status == 200 and board["totals"]["handoffs"] >= 1 and board["totals"]["messages"] >= 2
    assert PHONE not in body.decode()
    page = web.request("GET", "/staff/dashboard?jours=1", headers=cookie)[2].decode()
    assert page.count("<svg") == 5 and PHONE not in page


def test_queue_handled_audit_and_dashboard_on_the_sqlite_stack(stack: RasaServer, tmp_path: Path) -> None:
    settings = web_settings(stack, OIM_STAFF_TOKEN=WEB_STAFF_TOKEN, OIM_RASA_TOKEN=stack.token)
    web = WebServer(port=free_port(), log_path=tmp_path / "web.log", settings=settings).start()
    try:
        flag_handle_and_read(web, stack, WEB_STAFF_TOKEN)
    finally:
        web.stop()


def test_queue_handled_audit_and_dashboard_on_redis(redis_topology: Topology, tmp_path: Path) -> None:
    replica = redis_topology.rasa[0]  # each test replica has its own API token: "handled" goes to this one
    settings = {**redis_topology.web.settings, "OIM_RASA_URL": replica.url, "OIM_RASA_TOKEN": replica.token}
    web = WebServer(port=free_port(), log_path=tmp_path / "web.log", settings=settings).start()
    try:
        flag_handle_and_read(web, redis_topology.rasa[1], TOPOLOGY_STAFF_TOKEN)  # read back through the other replica
    finally:
        web.stop()
