"""Тексты вебхуков: адреса, куда бот отправляет события, и уведомление о паузе."""

TEXTS: dict[str, str] = {
    "hooks.title": "<b>🔗 Вебхуки</b>",
    "hooks.intro": (
        "Бот отправляет события (новая сделка, ответ на опрос, случаи) на ваши адреса "
        "POST-запросом с JSON, подписанным HMAC-SHA256 (как проверить подпись — в README)."
    ),
    "hooks.none": "Адресов пока нет.",
    "hooks.line": (
        "{number}. <code>{url}</code>\n    {state} · событий: {events} из {total} · "
        "в очереди: {pending}"
    ),
    "hooks.state.active": "✅ работает",
    "hooks.state.owner": "⏸ на паузе",
    "hooks.state.failures": "⛔ на паузе: сутки без успешной доставки",
    "hooks.btn.add": "➕ Добавить адрес",
    "hooks.btn.open": "⚙️ {number}. {host}",
    "hooks.btn.cancel": "✖️ Отмена",
    "hooks.btn.back": "⬅️ Назад",
    "hooks.btn.pause": "⏸ Пауза",
    "hooks.btn.resume": "▶️ Возобновить",
    "hooks.btn.rotate": "🔑 Новый секрет",
    "hooks.btn.delete": "🗑 Удалить",
    "hooks.btn.delete_yes": "🗑 Да, удалить",
    "hooks.btn.delete_no": "⬅️ Нет, оставить",
    "hooks.ask_url": (
        "Пришлите адрес, куда отправлять события: <code>https://…</code> (до 2000 знаков).\n"
        "Сначала он получит все события; лишние можно выключить."
    ),
    "hooks.bad_url": (
        "Это не подходит: нужен адрес вида <code>https://example.com/path</code> — http или "
        "https, имя сервера, без пробелов и логина с паролем, до 2000 знаков. "
        "Пришлите ещё раз или нажмите «Отмена»."
    ),
    "hooks.not_text": "Пришлите адрес текстом или нажмите «Отмена».",
    "hooks.too_many": "Больше 20 адресов добавить нельзя: удалите ненужный.",
    "hooks.added": "✅ Адрес добавлен.",
    "hooks.secret_once": (
        "🔑 Секрет подписи — показывается <b>один раз</b>, сохраните его у получателя:\n"
        "<code>{secret}</code>"
    ),
    "hooks.rotated": "🔑 Новый секрет выдан, старый больше не действует.",
    "hooks.card": (
        "<b>🔗 Адрес №{number}</b>\n<code>{url}</code>\n\n"
        "Состояние: {state}\nСекрет: <code>{secret}</code>\nВ очереди: {pending}\n"
        "Последняя доставка: {success}"
    ),
    "hooks.card.error": "Последняя ошибка: {error}",
    "hooks.card.events": "События (нажмите, чтобы включить или выключить):",
    "hooks.never": "ещё не было",
    "hooks.delete_ask": (
        "Удалить адрес №{number} <code>{url}</code>?\n"
        "Неотправленные события для него отправлены не будут."
    ),
    "hooks.deleted": "🗑 Адрес удалён.",
    "hooks.gone": "Этого адреса уже нет.",
    "hooks.paused_notice": (
        "⛔ Вебхук приостановлен: адрес <code>{url}</code> сутки не принимал события. "
        "Новые события для него не копятся, уже накопленные ждут. "
        "Когда получатель заработает, откройте /hooks → адрес → «▶️ Возобновить»."
    ),
    "hooks.event.deal.created": "новая сделка",
    "hooks.event.survey.opened": "опрос открыт",
    "hooks.event.answer.completed": "ответ на опрос",
    "hooks.event.case.opened": "случай открыт",
    "hooks.event.case.taken": "случай взят",
    "hooks.event.case.resolved": "случай решён",
    "hooks.event.case.reopened": "случай открыт снова",
    "hooks.event.contact.forgotten": "данные удалены",
}
