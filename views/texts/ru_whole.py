"""Тексты «📄 Весь ответ»: ответ человека целиком (карточки случая и контакта, /comments)."""

TEXTS: dict[str, str] = {
    "whole.head": "📄 <b>Весь ответ</b> · {name} · {date} · оценка {score}",
    "whole.btn_case": "📄 Весь ответ",
    "whole.btn_answer": "📄 Ответ {date}, оценка {score}",
}
