"""How every Rasa server and action server of this project is started: make run, the update gates, the tests.

Why: the gates must judge a candidate model on what users will get. Before this module, `make
run` started Rasa with our channels and our tracker store while the update's candidate stack
started it with Rasa's stock `rest:` channel and no store: a different server.
Now scripts/run.sh, bot/maintenance/candidate_stack.py and tests/stack.py all build their
commands here:

- `python -m rasa run <arguments>`: Rasa's own server, unpatched; what is ours is plugged in
  through config.yml, endpoints.yml and credentials.yml;
- credentials: credentials.yml + the messaging connectors whose variables are set
  (bot.serving.channels); a private server (candidate) passes `connectors=False`, so it never
  registers a webhook of the live assistant;
- a private tracker store: the SQLite store of endpoints.yml (bot/serving/sqlite_tracker_store.py)
  on a file of its own (`sqlite_endpoints`).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path

from bot.serving.sqlite_tracker_store import STORE_TYPE as SQLITE_STORE_TYPE

VENV_BIN = Path(sys.executable).parent


def rasa_command(
    model: Path | str, endpoints: Path | str, credentials: Path | str, port: int,
    token: str | None = None, interface: str = "127.0.0.1", python: str | None = None,
) -> list[str]:
    """The command of a Rasa server: Rasa's own `rasa run`, HTTP API only behind `token`."""
    command = [
        python or sys.executable, "-m", "rasa", "run", "--model", str(model),
        "--endpoints", str(endpoints), "--credentials", str(credentials),
        "--interface", interface, "--port", str(port),
    ]
    if token:
        command += ["--enable-api", f"--auth-token={token}"]  # "=": a token may start with "-"
    return command


def actions_command(port: int, rasa: str | None = None) -> list[str]:
    """The command of the action server (listens on $SANIC_HOST)."""
    return [rasa or str(VENV_BIN / "rasa"), "run", "actions", "--actions", "actions", "--port", str(port)]


def write_credentials(out: Path, env: Mapping[str, str] | None = None, connectors: bool = True) -> Path:
    """credentials.yml + the connectors configured in `env` (none when connectors=False), written to `out`."""
    from bot.serving.channels import write_effective_credentials

    out.parent.mkdir(parents=True, exist_ok=True)
    write_effective_credentials(out=out, env=env if connectors else {})
    return out


def sqlite_endpoints(path: Path, actions_url: str, db_path: Path, store_type: str = SQLITE_STORE_TYPE) -> Path:
    """An endpoints file like endpoints.yml: this action server, our SQLite store on `db_path`
    (`store_type="SQL"`: Rasa's own store, for a stock baseline)."""
    path.write_text(
        f"action_endpoint:\n  url: \"{actions_url}/webhook\"\n"
        f"tracker_store:\n  type: {store_type}\n  dialect: sqlite\n  db: \"{db_path}\"\n"
        "lock_store:\n  type: in_memory\n",
        encoding="utf-8",
    )
    return path

