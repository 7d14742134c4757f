"""Тексты /cases, карточки случая и вопроса клиенту «проблема решена?» (ключи как в en_cases.py)."""

TEXTS: dict[str, str] = {
    "cmd.cases": "Случаи недовольных клиентов",
    # --- the list ---
    "cases.title": "📂 <b>Открытые случаи: {count}</b>\nСначала самые давние.",
    "cases.scope_own": "Здесь случаи ваших клиентов и случаи, которые взяли вы.",
    "cases.empty": "Открытых случаев нет. 🎉",
    "cases.page": "Стр. {page} из {pages}",
    "cases.line": "№{case_id} · {name} · {score} · {age} · {owner}",
    "cases.score": "оценка {score}",
    "cases.score_call": "звонок: не подошло",
    "cases.nobody": "никто",
    "cases.age_hours": "{hours:час|часа|часов|часа}",
    "cases.age_days": "{days:день|дня|дней|дня} {hours:час|часа|часов|часа}",
    "cases.btn_open": "№{case_id} · {name}",
    "cases.btn_prev": "◀",
    "cases.btn_next": "▶",
    # --- the card ---
    "cases.card_title": "📁 <b>Случай №{case_id}</b> · {status}",
    "cases.status_open": "никто не взял",
    "cases.status_taken": "в работе, ответственный: {name}",
    "cases.status_resolved": "решён ({name})",
    "cases.card_opened": "Открыт: {when}, {age} назад",
    "cases.card_score": "Оценка: {score} из 10",
    "cases.card_call": "Откуда: звонок после покупки — «не подошло»",
    "cases.card_reason": "Причина: {reason}",
    "cases.card_contact": "Связь: {contact}",
    "cases.card_who": "Кто: {name}{org} ({kind})",
    "cases.card_deal": "Сделка: {deal}",
    "cases.card_manager": "Менеджер: {manager}",
    "cases.card_resolution": "Решение ({when}): «{text}»",
    "cases.card_reopened": "Открывался заново: {count:раз|раза|раз|раза}",
    "cases.client_yes": "Ответ клиента: проблема решена ✅",
    "cases.client_no": "Ответ клиента: проблема не решена ❌",
    "cases.client_waiting": "Ждём ответа клиента, решена ли проблема.",
    "cases.history": "<b>История:</b>",
    "cases.history_more": "…и ещё {count:событие|события|событий|события} раньше",
    "cases.ev_actor": "{when} — {actor}: {what}",
    "cases.ev_plain": "{when} — {what}",
    "cases.ev_opened": "случай открыт",
    "cases.ev_opened_call": "случай открыт после звонка",
    "cases.ev_taken": "случай взят в работу",
    "cases.ev_note": "заметка «{note}»",
    "cases.ev_resolved": "решено: «{note}»",
    "cases.ev_reopened": "случай открыт заново",
    "cases.ev_confirmed": "ответ клиента: проблема решена",
    "cases.ev_reopened_by_client": "ответ клиента: проблема не решена, случай снова открыт",
    "cases.ev_other": "{action}",
    "cases.btn_take": "🙋 Беру случай",
    "cases.btn_note": "📝 Заметка",
    "cases.btn_resolve": "✅ Решено",
    "cases.btn_reopen": "↩️ Открыть заново",
    "cases.btn_back": "◀ К списку",
    # --- actions ---
    "cases.ask_note": (
        "Напишите заметку к случаю №{case_id} одним сообщением "
        "(до {limit:символа|символов|символов|символа}).\n"
        "/cancel — отменить."
    ),
    "cases.ask_resolution": (
        "Как решили проблему по случаю №{case_id}? Коротко, одним сообщением "
        "(от {min} до {limit:символа|символов|символов|символа}).\n/cancel — отменить."
    ),
    "cases.note_empty": "Заметка пустая. Напишите, пожалуйста, текст.",
    "cases.note_too_long": (
        "Заметка получилась длиннее {limit:символа|символов|символов|символа} ({length}). "
        "Сократите её, пожалуйста, "
        "и пришлите ещё раз."
    ),
    "cases.resolution_too_short": "Слишком коротко. Напишите в двух словах, как решили проблему.",
    "cases.resolution_too_long": (
        "Описание длиннее {limit:символа|символов|символов|символа} ({length}). "
        "Оставьте, пожалуйста, только главное."
    ),
    "cases.text_expected_note": (
        "Пришлите, пожалуйста, заметку текстом — стикер или фото я сохранить не могу."
    ),
    "cases.text_expected_resolution": "Напишите, пожалуйста, текстом, как решили проблему.",
    "cases.note_added": "📝 Заметка добавлена к случаю №{case_id}.",
    "cases.resolved_done": "✅ Случай №{case_id} решён.",
    "cases.client_asked": "Бот спросит клиента, решена ли проблема; ответ появится в истории.",
    "cases.client_asked_later": (
        "Бот спросит клиента, решена ли проблема, {when} (клиентам он пишет с {start} до {end}); "
        "ответ появится в истории."
    ),
    "cases.client_no_consent": "Согласия на связь нет, поэтому бот не спрашивает клиента.",
    "cases.client_blocked": "Бот не может спросить клиента: {reason}.",
    "cases.not_taken": (
        "Случай №{case_id} сейчас не в работе: решённым можно отметить только взятый случай."
    ),
    "cases.not_resolved": "Случай №{case_id} и так не закрыт.",
    "cases.reopened_done": "Случай №{case_id} снова в работе.",
    "cases.unavailable": "Этот случай вам недоступен.",
    "cases.alert_resolved": "✅ Случай решён ({name}).",
    "cases.reopened_notice": (
        "❗ Ответ клиента: проблема <b>не решена</b>.\n\n"
        "Случай №{case_id}: {name}{org} — снова в работе у вас. "
        "Свяжитесь с человеком ещё раз."
    ),
    "cases.btn_open_case": "📁 Открыть случай",
    # --- the question to the person ---
    "confirm.question": (
        "Здравствуйте! Это «{company}». Вы рассказали нам о проблеме, и у нас она отмечена как "
        "решённая.\n\nВаша проблема действительно решена?"
    ),
    "confirm.btn_yes": "👍 Да, решена",
    "confirm.btn_no": "👎 Нет, не решена",
    "confirm.answer_given": "Ваш ответ: {answer}",
    "confirm.thanks_yes": "Спасибо! Рады, что всё решилось.",
    "confirm.thanks_no": (
        "Спасибо, что сказали. Мы снова взялись за вашу проблему — с вами свяжутся."
    ),
    "confirm.done_already": "Ответ уже записан, спасибо.",
    "alert.case": (
        "⚠️ Недовольный отзыв: оценка {score} из 10\n\n"
        "Кто: {name}{org} ({kind})\nСделка: {deal}\nМенеджер: {manager}\n"
        "Причина: {reason}\nСвязь: {contact}\n\n"
        "Случай №{case_id}: нужно связаться с человеком и решить проблему."
    ),
    "alert.contact_phone": "связаться можно, телефон {phone}",
    "alert.contact_telegram": "связаться можно, телефона нет — напишите в Telegram",
    "alert.contact_no": "согласия на связь нет",
    "alert.contact_unknown": "на вопрос о связи ответа нет",
    "alert.contact_not_asked": "о связи не спрашивали",
    "case.late": "✍️ Случай №{case_id}, {name}: {facts}",
    "case.late_reason": "причина «{reason}»",
    "case.late_phone": "телефон {phone}",
    "alert.reason_none": "не указана",
    "alert.pending": "ещё отвечает на опрос…",
    "alert.deal_none": "—",
    "alert.btn_take": "🙋 Беру случай",
    "alert.taken": "✅ В работе, ответственный: {name}, {when}",
    "alert.taken_you": "Случай №{case_id} ваш. Свяжитесь с человеком как можно скорее.",
    "alert.already_taken": "Случай уже в работе, ответственный: {name}.",
    "case.remind": (
        "⏰ Случай №{case_id} ({name}, оценка {score}) никто не взял за "
        "{hours:рабочий час|рабочих часа|рабочих часов|рабочего часа}. "
        "Возьмите его — человек ждёт ответа."
    ),
    "case.escalate": (
        "🚨 Случай №{case_id} ({name}, оценка {score}) не решён за "
        "{days:рабочий день|рабочих дня|рабочих дней|рабочего дня}. "
        "Ответственный: {owner}."
    ),
    "case.nobody": "никто",
}
