"""Тексты приглашения в один тап (inline-режим): кнопка менеджера и карточка клиента."""

TEXTS: dict[str, str] = {
    "inline.btn_send_client": "📨 Отправить клиенту",
    "inline.btn_send_partner": "📨 Отправить партнёру",
    "inline.btn_answer": "Ответить на 3 вопроса",
    "inline.title": "Приглашение для: {name}",
    "inline.description": "Опрос «{company}» — карточка с кнопкой «Ответить на 3 вопроса»",
}
