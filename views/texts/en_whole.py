"""Texts of "📄 Whole answer": a person's answer in full (from the case card, the contact card,
/comments)."""

TEXTS: dict[str, str] = {
    "whole.head": "📄 <b>Whole answer</b> · {name} · {date} · score {score}",
    "whole.btn_case": "📄 Whole answer",
    "whole.btn_answer": "📄 Answer of {date}, score {score}",
}
