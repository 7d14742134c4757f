"""Texts for the owner's /settings."""

TEXTS: dict[str, str] = {
    "cmd.settings": "Настройки бота",
    "settings.title": "⚙️ <b>Настройки</b>",
    "settings.hint": (
        "✏️ — изменено в чате; остальное взято из файла .env. "
        "Нажмите на настройку, чтобы изменить её. Изменения действуют сразу, без перезапуска."
    ),
    "settings.saved": "✅ Сохранено: {name} — {value}.",
    "settings.was_reset": "↩️ Возвращено значение из .env: {name} — {value}.",
    "settings.unchanged": "Это значение уже действует.",
    "settings.name.company_name": "Название компании",
    "settings.name.company_name_en": "Название по-английски",
    "settings.name.digest_time": "План менеджерам",
    "settings.name.workdays": "Рабочие дни",
    "settings.name.offer_interval": "Предложение клиенту",
    "settings.name.birthday_lead_days": "Напоминание о дне рождения",
    "settings.name.contact_min_days": "Бот пишет человеку первым",
    "settings.name.default_language": "Язык по умолчанию",
    "settings.show.company_name": "«{value}»",
    "settings.show.company_name_en": "«{value}»",
    "settings.show.company_name_en_unset": "не задано, в английских текстах — «{fallback}»",
    "settings.show.digest_time": "в {value} ({zone}), по рабочим дням",
    "settings.show.workdays": "{value}",
    "settings.show.offer_interval": "раз в {low}–{high:день|дня|дней|дня}",
    "settings.show.birthday_lead_days": "за {value:день|дня|дней|дня}",
    "settings.show.birthday_lead_days_zero": "в сам день",
    "settings.show.contact_min_days": "не чаще раза в {value:день|дня|дней|дня}",
    "settings.show.contact_min_days_zero": "без ограничения",
    "settings.show.default_language": "{value}",
    "settings.language.ru": "русский",
    "settings.language.en": "английский",
    "settings.days": "пн,вт,ср,чт,пт,сб,вс",
    "settings.ask.company_name": (
        "<b>Название компании</b> — так бот называет компанию в опросах и сообщениях клиентам "
        "(и в английских текстах, пока не задано название по-английски).\n"
        "Сейчас: {current}\n\n"
        "Напишите новое название (до {limit:символа|символов|символов|символа})."
    ),
    "settings.ask.company_name_en": (
        "<b>Название по-английски</b> — так бот называет компанию в английских текстах. "
        "Пока его нет, в них стоит русское название.\n"
        "Сейчас: {current}\n\n"
        "Напишите название латиницей (до {limit:символа|символов|символов|символа}), "
        "например Romashka Ltd."
    ),
    "settings.ask.digest_time": (
        "<b>Время плана</b> — когда менеджеры получают план на день (часовой пояс {zone}).\n"
        "Сейчас: {current}\n\nВыберите или напишите время, например 08:30."
    ),
    "settings.ask.offer_interval": (
        "<b>Предложение клиенту</b> — как часто напоминать менеджеру сделать клиенту предложение. "
        "Бот выбирает день внутри интервала.\nСейчас: {current}\n\n"
        "Выберите или напишите два числа дней через дефис, например 30-60."
    ),
    "settings.ask.birthday_lead_days": (
        "<b>Напоминание о дне рождения</b> — за сколько дней предупредить менеджера.\n"
        "Сейчас: {current}\n\nВыберите или напишите число от 0 до 30."
    ),
    "settings.ask.contact_min_days": (
        "<b>Бот пишет человеку первым</b> не чаще раза в N дней (поздравления, напоминания об "
        "опросе), чтобы не надоедать.\nСейчас: {current}\n\n"
        "Выберите или напишите число от 0 до 90 (0 — без ограничения)."
    ),
    "settings.ask.workdays": (
        "<b>Рабочие дни</b> — в эти дни менеджеры получают план и звонят клиентам.\n"
        "Нажмите на день, чтобы включить или выключить его."
    ),
    "settings.ask.default_language": (
        "<b>Язык по умолчанию</b> — для людей, чей язык в Telegram бот не знает.\nСейчас: {current}"
    ),
    "settings.bad.company": "Название не может быть пустым или содержать переносы строк. "
    "Напишите его одной строкой, до {limit:символа|символов|символов|символа}.",
    "settings.bad.company_long": "Слишком длинно: {length:символ|символа|символов|символа}, "
    "можно до {limit}. "
    "Напишите покороче.",
    "settings.bad.time": "Не похоже на время. Напишите часы и минуты, например 09:30.",
    "settings.bad.offer": "Напишите два числа дней через дефис, каждое от {low} до {high}, "
    "например 30-60.",
    "settings.bad.offer_order": "Первое число должно быть не больше второго, например 30-60.",
    "settings.bad.number": "Напишите целое число от {low} до {high}.",
    "settings.bad.workdays": "Должен остаться хотя бы один рабочий день.",
    "settings.bad.language": "Выберите язык кнопкой.",
    "settings.bad.unknown": "Такой настройки нет. Откройте /settings заново.",
    "settings.bad.not_text": "Напишите значение текстом или нажмите кнопку.",
    "settings.button.reset": "↩️ Как в .env ({value})",
    "settings.button.back": "⬅️ К настройкам",
}
