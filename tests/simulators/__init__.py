"""Local stand-ins for the messaging platforms' HTTP APIs (Twilio, Telegram Bot API, Graph API).

They speak the part of each API our connectors call, enforce what the real platform enforces
there (authentication, message length), record every request, and can be told to fail (429/5xx)
to exercise retries. They also play the platform's side of the webhooks: signed (or forged)
deliveries to the Rasa server. See `platforms.py`.
"""
