"""OIM assistant: knowledge, nlu, serving, maintenance and cli layers (docs/architecture.md)."""
