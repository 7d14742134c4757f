"""Texts of the invitation in one tap (inline mode): the manager's button and the client's card."""

TEXTS: dict[str, str] = {
    "inline.btn_send_client": "📨 Send to the client",
    "inline.btn_send_partner": "📨 Send to the partner",
    "inline.btn_answer": "Answer 3 questions",
    "inline.title": "Invitation for: {name}",
    "inline.description": "{company}'s survey — a card with an “Answer 3 questions” button",
}
