"""Russian texts of /trend and /export. Keys match `en_reports.py`; a test checks that."""

TEXTS: dict[str, str] = {
    "cmd.trend": "График NPS за 12 месяцев",
    "cmd.export": "Выгрузка ответов и контактов",
    # --- /trend ---
    "trend.busy": (
        "⏳ Я ещё готовлю предыдущий отчёт — пришлю его через минуту, подождите, пожалуйста."
    ),
    "trend.empty": (
        "📈 За последние 12 месяцев ответов на опросы пока нет, так что строить график не из чего. "
        "Он появится после первых ответов — а пока можно проверить, отправлены ли ссылки, "
        "в /managers."
    ),
    "trend.title": "NPS по месяцам — {company}",
    "trend.footnote": "Числа у точек — сколько ответов за месяц",
    "trend.legend": "{kind} ({answered})",
    "trend.months": "янв,фев,мар,апр,май,июн,июл,авг,сен,окт,ноя,дек",
    "trend.months_full": (
        "январь,февраль,март,апрель,май,июнь,июль,август,сентябрь,октябрь,ноябрь,декабрь"
    ),
    "trend.caption": (
        "📈 NPS за 12 месяцев: {nps} (ответов {answered}). {last}: {last_nps} (ответов "
        "{last_answered}); {first}: {first_nps} (ответов {first_answered})."
    ),
    "trend.caption_one": "📈 NPS за 12 месяцев: {nps} (ответов {answered}, все — {month}).",
    # --- /export ---
    "export.busy": (
        "⏳ Я ещё готовлю предыдущий отчёт — пришлю его через минуту, подождите, пожалуйста."
    ),
    "export.ask": (
        "📤 <b>Выгрузка в Excel</b>\n\nЗа какой период выгрузить ответы? Контакты войдут все.\n"
        "Пришлю по два файла — CSV и XLSX — с ответами и с контактами."
    ),
    "export.btn.30": "30 дней",
    "export.btn.90": "90 дней",
    "export.btn.y": "С начала года",
    "export.btn.all": "За всё время",
    "export.period.30": "за 30 дней ({first} – {last})",
    "export.period.90": "за 90 дней ({first} – {last})",
    "export.period.y": "с начала года ({first} – {last})",
    "export.period.all": "за всё время",
    "export.preparing": "⏳ Готовлю выгрузку {period}…",
    "export.crashed": (
        "⚠️ Выгрузка {name} прервалась: бот перезапустился. Запросите её ещё раз: /export"
    ),
    "export.done": (
        "✅ Выгрузка {period} готова: ответов {answers}, контактов {contacts}. Файлы ниже — "
        "каждый в двух видах: CSV (UTF-8, разделитель «;») и XLSX для Excel."
    ),
    "export.caption.answers": "Ответы {period}: {count}. {format}",
    "export.caption.contacts": "Контакты (все, кроме удалённых по просьбе): {count}. {format}",
    "export.format.csv": "CSV: UTF-8, разделитель «;» — откроется в Excel по двойному щелчку.",
    "export.format.zip": (
        "CSV в архиве ZIP: без сжатия файл больше 50 МБ, и Telegram его не примет."
    ),
    "export.format.xlsx": "XLSX для Excel.",
    "export.too_large": (
        "Файл {name} получился больше 50 МБ — Telegram не принимает такие файлы от ботов. "
        "Выберите период покороче."
    ),
    "export.progress": "⏳ Готовлю выгрузку {period}: {what} — {done} из {total}…",
    "export.progress.answers": "ответы",
    "export.progress.contacts": "контакты",
    "export.part.answers": (
        "Ответы {period} — часть {number} из {parts}: строки {first}–{last}{dates}. {format}"
    ),
    "export.part.contacts": (
        "Контакты (все, кроме удалённых по просьбе) — часть {number} из {parts}: "
        "строки {first}–{last}. {format}"
    ),
    "export.part.dates": " ({first} – {last})",
    "export.cut": " … [обрезано, всего {count:знак|знака|знаков|знака}]",
    "export.sheet.answers": "Ответы",
    "export.sheet.contacts": "Контакты",
    "export.yes": "да",
    "export.no": "нет",
    "export.erased": "данные удалены",
    "export.cat.promoter": "промоутер",
    "export.cat.passive": "нейтрал",
    "export.cat.detractor": "критик",
    # --- column headers ---
    "export.a.answered": "Дата ответа",
    "export.a.name": "Имя",
    "export.a.org": "Организация",
    "export.a.kind": "Кто",
    "export.a.manager": "Менеджер",
    "export.a.deal": "Сделка",
    "export.a.deal_date": "Дата сделки",
    "export.a.score": "Оценка",
    "export.a.category": "Категория",
    "export.a.reason": "Что повлияло на оценку",
    "export.a.consent": "Согласие на связь",
    "export.a.phone": "Телефон",
    "export.a.created": "Опрос создан",
    "export.a.opened": "Опрос открыт",
    "export.c.name": "Имя",
    "export.c.kind": "Кто",
    "export.c.org": "Организация",
    "export.c.phone": "Телефон",
    "export.c.birthday": "День рождения",
    "export.c.manager": "Менеджер",
    "export.c.last_deal": "Последняя сделка",
    "export.c.deals": "Сделок",
    "export.c.last_score": "Последняя оценка",
    "export.c.consent": "Согласие на связь",
    "export.c.opted_out": "Отказ от сообщений",
    "export.c.unreachable": "Бот заблокирован",
    "export.c.created": "Добавлен",
}
