"""URL map of the web service (the only place that says which handler serves which path)."""

from __future__ import annotations

from aiohttp import web

from bot.serving.web import (
    chat_views,
    dashboard_views,
    feedback_views,
    inbox_views,
    queue_views,
    staff_reply,
    staff_views,
)
from bot.serving.web.model_server import live_model
from bot.serving.web.privacy import PRIVACY_PATH, privacy_page


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/", chat_views.chat_page)
    app.router.add_static("/static/", chat_views.STATIC_DIR, show_index=False, follow_symlinks=False)
    app.router.add_post("/api/chat", chat_views.chat)
    app.router.add_post("/api/chat/feedback", feedback_views.feedback)
    app.router.add_get("/api/chat/updates", staff_reply.updates)  # staff replies, polled while a handoff is pending
    app.router.add_get("/health", chat_views.health_check)
    app.router.add_get(PRIVACY_PATH, privacy_page)  # public, linked from the chat and the messaging notice

    app.router.add_get("/staff", staff_views.search_page)
    app.router.add_post("/staff/login", staff_views.login)
    app.router.add_post("/staff/logout", staff_views.logout)
    app.router.add_get("/staff/ask", staff_views.ask_page)
    app.router.add_get("/staff/knowledge", staff_views.knowledge_page)
    app.router.add_get("/staff/handoffs", queue_views.handoffs_redirect)  # the former list: now the queue
    app.router.add_get("/staff/queue", queue_views.queue_page)
    app.router.add_get("/staff/conversations/{ref}", queue_views.conversation_page)
    app.router.add_post("/staff/conversations/{ref}/handled", queue_views.mark_handled)
    app.router.add_post("/staff/conversations/{ref}/reply", staff_reply.reply_form)
    app.router.add_get("/staff/dashboard", dashboard_views.dashboard_page)

    app.router.add_get("/api/staff/search", staff_views.search_api)
    app.router.add_get("/api/staff/ask", staff_views.ask_api)
    app.router.add_get("/api/staff/feedback", feedback_views.feedback_api)
    app.router.add_get("/api/staff/entries", staff_views.entries_api)
    app.router.add_get("/api/staff/handoffs", staff_views.handoffs_api)
    app.router.add_get("/api/staff/conversations/{ref}", queue_views.conversation_api)
    app.router.add_get("/api/staff/queue", queue_views.queue_api)
    app.router.add_post("/api/staff/conversations/{ref}/handled", queue_views.mark_handled_api)
    app.router.add_post("/api/staff/conversations/{ref}/reply", staff_reply.reply_api)
    app.router.add_get("/api/staff/dashboard", dashboard_views.dashboard_api)

    app.router.add_get("/staff/inbox", inbox_views.inbox_page)
    app.router.add_post("/staff/inbox/nlu", inbox_views.add_nlu_form)
    app.router.add_post("/staff/inbox/qa", inbox_views.add_qa_form)
    app.router.add_get("/api/staff/inbox", inbox_views.inbox_api)
    app.router.add_post("/api/staff/inbox/nlu", inbox_views.add_nlu_api)
    app.router.add_post("/api/staff/inbox/qa", inbox_views.add_qa_api)

    app.router.add_get("/models/live", live_model)  # Rasa replicas pull the live model
