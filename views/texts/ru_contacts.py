"""Russian texts of /find and the contact card. Keys match `en_contacts.py`; a test checks that."""

TEXTS: dict[str, str] = {
    "cmd.find": "Найти контакт",
    # --- the search ---
    "find.usage": (
        "Поиск контакта: после /find напишите часть имени, название организации или телефон.\n\n"
        "Например: <code>/find Смирнова</code> или <code>/find 8 916 123-45-67</code>"
    ),
    "find.too_long": (
        "Слишком длинный запрос ({length:символ|символа|символов|символа}). "
        "Напишите до {limit}: часть имени, "
        "организации или телефон."
    ),
    "find.too_short": (
        "Напишите хотя бы 3 буквы имени или организации — или телефон.\n\n"
        "Например: <code>/find Сми</code> или <code>/find 8 916 123-45-67</code>"
    ),
    "find.nothing_text": (
        "По запросу «{query}» ничего не нашлось: я искал в именах и названиях организаций. "
        "Попробуйте часть фамилии или телефон."
    ),
    "find.nothing_phone": "Контакта с телефоном {phone} не нашлось.",
    "find.scope_own": "Поиск идёт только среди ваших контактов.",
    "find.list_header": "Нашлось: {count}. Выберите контакт:",
    "find.list_header_many": "Нашлось больше {count} — уточните запрос. Несколько из них:",
    "find.list_line": "{n}. {name}{details}",
    "find.list_more": "…и ещё {count}. Уточните запрос.",
    "find.btn_open": "{n}. {name}",
    "find.no_name": "Без имени",
    # --- the card ---
    "find.card_title": "👤 <b>{name}</b>",
    "find.card_kind": "Кто: {kind}",
    "find.card_org": "Организация: {org}",
    "find.card_phone": "Телефон: {phone}",
    "find.card_birthday": "День рождения: {birthday}",
    "find.card_manager": "Менеджер: {manager}",
    "find.not_set": "—",
    "find.flag_consent_yes": "✅ Согласие на связь по итогам опроса есть",
    "find.flag_consent_no": "🚫 Согласия на связь по итогам опроса нет",
    "find.flag_opted_out": "🔕 Отказ от сообщений бота ({date})",
    "find.flag_unreachable": (
        "⚠️ С {date} бот не может писать этому человеку: бот заблокирован или аккаунт удалён"
    ),
    "find.deals_header": "<b>Сделки</b> ({count}):",
    "find.deal_line": "• {date} — {text}",
    "find.answers_header": "<b>Ответы на опрос</b> ({count}):",
    "find.answer_line": "• {date} — {score} из 10, {category}: {reason}",
    "find.answer_no_reason": "без комментария",
    "find.cat_promoter": "промоутер",
    "find.cat_passive": "нейтрал",
    "find.cat_detractor": "критик",
    "find.comments_header": "<b>Комментарии</b> ({count}):",
    "find.comment_line": "• {date}, {source}: {text}",
    "find.source_manual": "заметка",
    "find.source_call": "после звонка",
    "find.source_import": "импорт",
    "find.source_survey": "опрос",
    "find.calls_header": "<b>Звонки</b> ({count}):",
    "find.call_line": "• {date} — {outcome}",
    "find.outcome_likes": "пользуется, нравится",
    "find.outcome_not_yet": "пока не пользуется",
    "find.outcome_unsuitable": "не подошло — нужна встреча",
    "find.outcome_no_answer": "не дозвонились",
    "find.outcome_done": "состоялся",
    "find.outcome_other": "итог «{code}»",
    "find.tasks_header": "<b>Открытые задачи</b> ({count}):",
    "find.task_line": "• {kind} — срок {date}",
    "find.task_call": "Звонок после сделки",
    "find.task_call_back": "Перезвонить",
    "find.task_meet": "Встреча",
    "find.task_birthday": "Поздравить с днём рождения",
    "find.task_birthday_lead": "Скоро день рождения: подготовить подарок",
    "find.task_offer": "Индивидуальное предложение",
    "find.task_refresh": "Поблагодарить промоутера",
    "find.task_passive": "Напомнить о себе",
    "find.task_resend": "Ещё раз отправить ссылку на опрос",
    "find.task_other": "Задача «{kind}»",
    "find.more": "   …и ещё {count}",
    "find.btn_deal": "➕ Новая сделка",
    "find.btn_comment": "💬 Добавить комментарий",
    "find.btn_birthday": "🎂 Указать день рождения",
    # --- the card's buttons ---
    "find.ask_comment": (
        "Комментарий о контакте «{name}»: напишите его одним сообщением, "
        "до {limit:символа|символов|символов|символа}.\n\n"
        "/cancel — отменить"
    ),
    "find.comment_too_long": (
        "Комментарий длиннее {limit:символа|символов|символов|символа} ({length}). "
        "Сократите его, пожалуйста, "
        "и отправьте ещё раз."
    ),
    "find.text_expected": "Пожалуйста, пришлите текст сообщением.",
    "find.comment_saved": "Комментарий сохранён.",
    "find.ask_birthday": (
        "День рождения контакта «{name}»: ДД.ММ или ДД.ММ.ГГГГ, например 05.03 или 05.03.1985.\n\n"
        "/cancel — отменить"
    ),
    "find.birthday_invalid": (
        "Такой даты нет или она в будущем. Напишите ДД.ММ или ДД.ММ.ГГГГ, например 05.03 или "
        "05.03.1985."
    ),
    "find.birthday_saved": "День рождения сохранён: {birthday}.",
    "find.gone": "Этот контакт больше недоступен. Ничего не сохранено.",
}
