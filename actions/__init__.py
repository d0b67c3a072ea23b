"""Rasa SDK custom actions of the OIM assistant (`rasa run actions` from the repo root)."""
