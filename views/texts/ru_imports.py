"""Texts for importing a client base from a CSV or XLSX file."""

TEXTS: dict[str, str] = {
    "cmd.import": "Загрузить базу клиентов",
    "cmd.template": "Шаблон файла для загрузки базы",
    "import.help": (
        "📥 <b>Загрузка базы клиентов</b>\n"
        "Отправьте сюда файл <b>XLSX</b> или <b>CSV</b> (до 20 МБ). Первая строка — названия "
        "колонок, в любом порядке; лишние колонки не мешают:\n"
        "• <b>Имя</b> (или ФИО) — нужно имя или телефон\n"
        "• <b>Телефон</b> — как угодно: +7 916 123-45-67, 8 (916) 1234567\n"
        "• <b>Тип</b> — клиент, поставщик, подрядчик или партнёр (пусто — клиент)\n"
        "• <b>Организация</b>\n"
        "• <b>День рождения</b> — 15.03, 15.03.1985 или 1985-03-15\n"
        "• <b>Менеджер</b> — имя сотрудника в боте, @username или id (пусто — вы)\n"
        "• <b>Дата последней покупки</b> — 12.09.2026 или 2026-09-12\n"
        "• <b>Покупка</b> — что куплено\n"
        "• <b>Заметки</b>\n\n"
        "Контакт с уже известным телефоном не дублируется: у него заполнятся только пустые поля. "
        "Тот же файл можно отправить ещё раз — ничего не удвоится. Строки, которые не подошли, "
        "вернутся файлом с причиной для каждой.\n\n"
        "Шаблон с примером — ниже."
    ),
    "import.template_caption": (
        "Шаблон для загрузки базы: заполните и отправьте мне. Названия колонок можно писать "
        "по-русски или по-английски:\n"
        "Имя / Name · Тип / Kind · Организация / Organisation · Телефон / Phone · "
        "День рождения / Birthday · Менеджер / Manager · "
        "Дата последней покупки / Last purchase date · Покупка / What was bought · "
        "Заметки / Notes\n"
        "Подходят и синонимы: ФИО, Клиент, Тел., Мобильный, Дата рождения, Ответственный, "
        "Последняя покупка, Товар, Комментарий, Компания…"
    ),
    "import.template_file": "шаблон базы клиентов.xlsx",
    "import.template_sheet": "Клиенты",
    "import.kinds_list": "клиент,поставщик,подрядчик,партнёр",
    "import.field.name": "Имя",
    "import.field.kind": "Тип",
    "import.field.organization": "Организация",
    "import.field.phone": "Телефон",
    "import.field.birthday": "День рождения",
    "import.field.manager": "Менеджер",
    "import.field.deal_date": "Дата последней покупки",
    "import.field.product": "Покупка",
    "import.field.note": "Заметки",
    "import.sample.name": "Анна Смирнова",
    "import.sample.kind": "клиент",
    "import.sample.organization": "ООО «Ромашка»",
    "import.sample.product": "Кухонный гарнитур",
    "import.sample.note": "Удобнее звонить после 18:00",
    "import.refuse.format": (
        "Базу клиентов я принимаю файлом <b>XLSX</b> или <b>CSV</b>, а «{name}» — другой файл. "
        "Сохраните таблицу как .xlsx или .csv и отправьте снова. Пример: /template"
    ),
    "import.refuse.xls": (
        "«{name}» — файл старого формата Excel (.xls). Откройте его и сохраните как "
        "«Книга Excel (*.xlsx)», затем отправьте снова."
    ),
    "import.refuse.sheet": (
        "«{name}» я прочитать не смогу. Сохраните таблицу как .xlsx или .csv "
        "(«Файл → Сохранить как» или «Экспорт») и отправьте снова."
    ),
    "import.refuse.photo": (
        "Это фото, а базу клиентов я принимаю файлом XLSX или CSV. Отправьте таблицу как файл "
        "(скрепка → «Файл»). Пример: /template"
    ),
    "import.refuse.too_big": (
        "Файл «{name}» весит {size} МБ, а Telegram даёт ботам скачивать файлы до 20 МБ. "
        "Разделите базу на части или сохраните как CSV — он меньше."
    ),
    "import.busy": (
        "Я ещё загружаю ваш предыдущий файл. Дождитесь отчёта о нём и отправьте следующий."
    ),
    "import.received": "📥 Получил «{name}», читаю…",
    "import.download_failed": (
        "Не получилось скачать «{name}» из Telegram. Ничего не изменено — отправьте файл ещё раз."
    ),
    "import.progress.check": ("⏳ Проверяю «{name}»…\n{bar} {percent}%\nПрочитано строк: {done}"),
    "import.progress.write": (
        "⏳ Загружаю базу из «{name}»…\n{bar} {percent}%\n"
        "{done} из {total:строки|строк|строк|строки}"
    ),
    "import.unreadable": "❌ Не удалось прочитать «{name}»: {reason}\n\nНичего не изменено.",
    "import.unreadable.empty": "файл пустой.",
    "import.unreadable.legacy_xls": (
        "это файл старого формата Excel (.xls). Сохраните его как «Книга Excel (*.xlsx)»."
    ),
    "import.unreadable.not_xlsx": (
        "это не настоящий файл Excel (.xlsx) или он повреждён. Откройте его в Excel или "
        "Google Таблицах и сохраните заново как .xlsx или .csv."
    ),
    "import.unreadable.not_text": (
        "это не текстовый CSV. Сохраните таблицу как «CSV UTF-8» или .xlsx."
    ),
    "import.unreadable.bad_csv": (
        "CSV испорчен около строки {row} (например, не закрыта кавычка). "
        "Сохраните таблицу заново как «CSV UTF-8» или .xlsx."
    ),
    "import.unreadable.no_header": (
        "не нашёл строку с названиями колонок: нужна хотя бы колонка «Имя» или «Телефон». "
        "Первая строка файла: «{first}». Пример: /template"
    ),
    "import.unreadable.too_many_rows": (
        "в файле больше {limit:строки|строк|строк|строки}. Разделите базу на несколько файлов."
    ),
    "import.summary.title": "✅ <b>База загружена</b> из «{name}»",
    "import.summary.rows": "Строк с данными: {count}",
    "import.summary.created": "• новых контактов: {count}",
    "import.summary.filled": "• уже были в базе, дополнены пустые поля: {count}",
    "import.summary.unchanged": "• уже были в базе, дополнять нечего: {count}",
    "import.summary.duplicates": "• повторы внутри файла, объединены: {count}",
    "import.summary.rejected": "• не загружено: {count}",
    "import.summary.reason": "   — {reason}: {count}",
    "import.summary.deals": "Покупок добавлено: {deals} · заметок: {notes}",
    "import.summary.unknown": "Колонки не распознаны и пропущены: {columns}",
    "import.summary.notes_cut": "Заметки длиннее 2000 символов обрезаны: {count}",
    "import.summary.fix_hint": (
        "Незагруженные строки — в файле ниже, с причиной для каждой. Исправьте их и отправьте "
        "этот файл мне снова."
    ),
    "import.summary.plans": (
        "С завтрашнего утра эти люди появятся в планах менеджеров: дни рождения, предложения, "
        "давно не покупавшие."
    ),
    "import.summary.nothing_new": "Ничего нового: всё из этого файла уже есть в базе.",
    "import.interrupted": (
        "⚠️ Загрузка «{name}» прервалась после {done:строки|строк|строк|строки} "
        "(новых контактов: {created}). "
        "Отправьте тот же файл ещё раз: уже загруженное не удвоится, остальное догрузится."
    ),
    "import.stopped": (
        "⚠️ Загрузка «{name}» остановлена: бот перезапускается. Через минуту отправьте тот же "
        "файл ещё раз — уже загруженное не удвоится."
    ),
    "import.crashed": (
        "⚠️ Загрузка «{name}» прервалась: бот перезапустился. Отправьте тот же файл ещё раз — "
        "уже загруженное не удвоится."
    ),
    "import.group.erased": "данные удалены по просьбе человека",
    "import.group.phone": "неверный телефон",
    "import.group.no_name_phone": "нет ни имени, ни телефона",
    "import.group.birthday": "невозможная дата рождения",
    "import.group.deal_date": "невозможная дата покупки",
    "import.group.deal_future": "дата покупки в будущем",
    "import.group.kind": "неизвестный тип",
    "import.group.manager": "неизвестный менеджер",
    "import.group.too_long": "слишком длинное значение",
    "import.reason.erased": (
        "данные человека с этим телефоном удалены по его просьбе (/forget) — снова не загружаем"
    ),
    "import.reason.phone": "неверный телефон «{value}»",
    "import.reason.no_name_phone": "нет ни имени, ни телефона",
    "import.reason.birthday": "невозможная дата рождения «{value}»",
    "import.reason.deal_date": "невозможная дата покупки «{value}» (нужно ДД.ММ.ГГГГ)",
    "import.reason.deal_future": "дата покупки в будущем «{value}»",
    "import.reason.kind": (
        "неизвестный тип «{value}» (можно: клиент, поставщик, подрядчик, партнёр)"
    ),
    "import.reason.manager": "неизвестный менеджер «{value}» (нет среди сотрудников в боте)",
    "import.reason.too_long": (
        "слишком длинное значение в колонке «{column}» "
        "(больше {limit:символа|символов|символов|символа})"
    ),
    "import.col_row": "Строка",
    "import.col_reason": "Причина",
    "import.rejected_file": "{name} — не загружено.csv",
    "import.rejected_caption": "Не загружено строк: {count}. Причина — в последней колонке.",
    "import.deal_default": "Покупка из загруженной базы",
}
