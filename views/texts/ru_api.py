"""Тексты /api: токены HTTP API."""

TEXTS: dict[str, str] = {
    "cmd.api": "Токены HTTP API",
    "api.menu": (
        "<b>HTTP API</b>\n"
        "Через API ваша CRM или учётная система передаёт сделки в бота и забирает ответы.\n"
        "Токен «сделки» (deals:write) записывает сделки, токен «чтение» (read) читает ответы "
        "и NPS. Токен показывается один раз; бот хранит только его отпечаток.\n\n"
        "{tokens}\n\n"
        "Свой токен с названием: <code>/api new название deals</code> или "
        "<code>/api new название read</code>."
    ),
    "api.none": "Токенов пока нет.",
    "api.line": "• <b>{name}</b> — {scope}, создан {date}",
    "api.btn_new_write": "➕ Токен для сделок",
    "api.btn_new_read": "➕ Токен для чтения",
    "api.btn_revoke": "🗑 Отозвать «{name}»",
    "api.btn_hooks": "Вебхуки",
    "api.created": (
        "Токен <b>{name}</b> ({scope}) создан:\n\n<code>{token}</code>\n\n"
        "Скопируйте его сейчас: бот больше его не покажет. Передавайте его в заголовке "
        "<code>Authorization: Bearer …</code>. Если токен утёк — отзовите его в /api."
    ),
    "api.revoked": "Токен «{name}» отозван: запросы с ним больше не принимаются.",
    "api.gone": "Этот токен уже отозван.",
    "api.new_usage": (
        "Так: <code>/api new название deals</code> (запись сделок) или "
        "<code>/api new название read</code> (чтение ответов и NPS). Название — до 40 символов."
    ),
    "api.owners_only": "Токены API создают и отзывают только владельцы.",
}
