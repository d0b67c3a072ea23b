"""Build the credentials file Rasa starts with: credentials.yml plus the configured connectors.

Why: Rasa enables every channel listed in its credentials file and fails when one of them lacks a
secret, so Telegram, Messenger and WhatsApp cannot simply sit in credentials.yml "in case". This
module copies credentials.yml (REST and socket.io) and appends each connector of `channels.yml`
whose required environment variables are all set (with its optional settings that are set); the
connectors are our classes of `bot.serving.messaging`. It writes `${VARIABLE}` references, never the secrets
themselves: Rasa expands them when it reads the file.

    python -m bot.serving.channels            # writes .runtime/credentials.yml, prints its path
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bot.knowledge.paths import repo_root
from bot.knowledge.yamlio import write_atomic

SPECS_FILE = Path(__file__).with_name("channels.yml")
BASE_CREDENTIALS = repo_root() / "credentials.yml"
RUNTIME_DIR = repo_root() / ".runtime"
EFFECTIVE_CREDENTIALS = RUNTIME_DIR / "credentials.yml"


class ChannelConfigError(ValueError):
    """The channel definitions or the base credentials file cannot be used."""


@dataclass(frozen=True)
class ChannelSpec:
    """One optional connector: its Rasa key and the environment variable of each setting."""

    name: str
    label: str
    rasa_key: str
    settings: dict[str, str]
    prefixes: dict[str, str] = field(default_factory=dict)
    webhook: str = ""
    optional: dict[str, str] = field(default_factory=dict)
    builtin: str = ""

    @property
    def variables(self) -> list[str]:
        return list(self.settings.values())


@dataclass(frozen=True)
class ChannelState:
    """Whether a connector is on, and which variables are missing when it is not."""

    spec: ChannelSpec
    missing: list[str]

    @property
    def enabled(self) -> bool:
        return not self.missing

    @property
    def partially_configured(self) -> bool:
        """Some but not all variables set: almost certainly a mistake worth a warning."""
        return bool(self.missing) and len(self.missing) < len(self.spec.variables)


def load_specs(path: Path = SPECS_FILE) -> list[ChannelSpec]:
    """The connectors defined in `channels.yml`, in file order."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    channels = data.get("channels")
    if not isinstance(channels, dict) or not channels:
        raise ChannelConfigError(f"{path}: 'channels' must be a non-empty mapping")
    specs = []
    for name, raw in channels.items():
        if not isinstance(raw, dict) or not isinstance(raw.get("settings"), dict) or not raw.get("rasa_key"):
            raise ChannelConfigError(f"{path}: channel '{name}' needs 'rasa_key' and 'settings'")
        specs.append(
            ChannelSpec(
                name=str(name),
                label=str(raw.get("label") or name),
                rasa_key=str(raw["rasa_key"]),
                settings={str(k): str(v) for k, v in raw["settings"].items()},
                prefixes={str(k): str(v) for k, v in (raw.get("prefixes") or {}).items()},
                webhook=str(raw.get("webhook") or ""),
                optional={str(k): str(v) for k, v in (raw.get("optional") or {}).items()},
                builtin=str(raw.get("builtin") or ""),
            )
        )
    return specs


def _is_set(env: Mapping[str, str], variable: str) -> bool:
    return bool(env.get(variable, "").strip())


def channel_states(specs: Sequence[ChannelSpec], env: Mapping[str, str]) -> list[ChannelState]:
    """Each connector with the variables it still lacks (none: it is enabled)."""
    return [ChannelState(spec, [v for v in spec.variables if not _is_set(env, v)]) for spec in specs]


def _setting_line(key: str, variable: str, prefix: str, env: Mapping[str, str]) -> str:
    value = f"${{{variable}}}"
    if prefix and not env.get(variable, "").strip().startswith(prefix):
        value = prefix + value
    # Plain (unquoted) scalar on purpose: Rasa only expands ${...} in plain scalars.
    return f"  {key}: {value}"


def render_credentials(base_text: str, states: Sequence[ChannelState], env: Mapping[str, str]) -> str:
    """The base credentials text followed by a block per enabled connector."""
    base = yaml.safe_load(base_text) or {}
    if not isinstance(base, dict):
        raise ChannelConfigError("credentials.yml must be a mapping of channel names")
    lines = [base_text.rstrip("\n"), ""]
    for state in states:
        if not state.enabled:
            continue
        spec = state.spec
        for key in (spec.rasa_key, spec.builtin):
            if key and key in base:
                raise ChannelConfigError(
                    f"credentials.yml already configures '{key}': remove it, "
                    f"{spec.label} is added from environment variables"
                )
        lines.append(f"# {spec.label}: added because {', '.join(spec.variables)} are set.")
        lines.append(f"{spec.rasa_key}:")
        for key, variable in spec.settings.items():
            lines.append(_setting_line(key, variable, spec.prefixes.get(key, ""), env))
        for key, variable in spec.optional.items():
            if _is_set(env, variable):
                lines.append(_setting_line(key, variable, spec.prefixes.get(key, ""), env))
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def write_effective_credentials(
    out: Path = EFFECTIVE_CREDENTIALS,
    base: Path = BASE_CREDENTIALS,
    env: Mapping[str, str] | None = None,
    specs: Sequence[ChannelSpec] | None = None,
) -> list[ChannelState]:
    """Write the effective credentials file to `out`; returns every connector's state."""
    environment = os.environ if env is None else env
    states = channel_states(specs if specs is not None else load_specs(), environment)
    text = render_credentials(base.read_text(encoding="utf-8"), states, environment)
    write_atomic(out, text, mode=0o600)  # private to the user running Rasa, as mkstemp made it
    return states


def describe(states: Sequence[ChannelState]) -> list[str]:
    """One human line per connector: on (with its webhook) or off (with what is missing)."""
    lines = []
    for state in states:
        spec = state.spec
        if state.enabled:
            lines.append(f"{spec.label}: on ({spec.webhook})")
        elif state.partially_configured:
            lines.append(f"WARNING {spec.label}: off, {', '.join(state.missing)} not set")
        else:
            lines.append(f"{spec.label}: off (set {', '.join(spec.variables)} to turn it on)")
    return lines


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("channels", help="write the effective Rasa credentials file")
    _add_arguments(parser)
    parser.set_defaults(func=run_from_args, handler=run_from_args)


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--base", type=Path, default=BASE_CREDENTIALS, help="base credentials file")
    parser.add_argument("--out", type=Path, default=EFFECTIVE_CREDENTIALS, help="file to write")


def run_from_args(args: argparse.Namespace) -> int:
    try:
        states = write_effective_credentials(out=args.out, base=args.base)
    except (OSError, ChannelConfigError, yaml.YAMLError) as error:
        print(f"[oim] ERROR: cannot build the credentials file: {error}", file=sys.stderr)
        return 2
    for line in describe(states):
        print(f"[oim] channel {line}", file=sys.stderr)
    print(args.out)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.serving.channels", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_arguments(parser)
    return run_from_args(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
