"""Messaging connectors: WhatsApp (Twilio), Telegram and Facebook Messenger, for real.

Rasa's plug-in point is used: the classes named in the effective credentials file
(`bot.serving.channels`) are `whatsapp.WhatsAppInput`, `telegram.TelegramSecureInput` and
`messenger.MessengerSecureInput`, subclasses of Rasa 3.6's `TwilioInput`, `TelegramInput` and
`FacebookInput` that keep their webhook paths (`/webhooks/{twilio,telegram,facebook}/webhook`) but:

- accept only authentic webhooks (`signatures`): Twilio's `X-Twilio-Signature`, Telegram's
  `X-Telegram-Bot-Api-Secret-Token`, Messenger's `X-Hub-Signature-256`; anything else gets 403 and
  touches no conversation;
- shape replies for phones (`shaping`): one answer is one message, under the platform's limit,
  split only between sentences, the "Source : ..." line kept with its answer; quick choices become
  Telegram inline keyboards, Messenger quick replies or a numbered WhatsApp list whose number is
  understood when it comes back;
- answer media and odd events (voice notes, images, locations, stickers, edits) with a short
  French text, send a first-contact notice per conversation (texts in `texts.yml`);
- send with aiohttp to a configurable API base URL, with retries and backoff on 429/5xx and
  redacted logs (`sender`), so no send ever blocks Rasa's event loop.

Conversation ids are `whatsapp-<number>`, `telegram-<chat id>`, `messenger-<page-scoped id>`: they
never collide with the web service's `web-<sender>`.
"""
