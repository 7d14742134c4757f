"""Тексты отчётов владельца: /nps по периодам, /managers, /comments, /referrals."""

TEXTS: dict[str, str] = {
    "period.7": "7 дней",
    "period.30": "30 дней",
    "period.90": "90 дней",
    "period.y": "Этот год",
    "period.all": "Всё время",
    "period.month": "{month}",
    "period.range": "{first}–{last}",
    "period.since_start": "всё время, по {last}",
    "period.bad_month": "Не понял месяц. Пример: /nps 2026-11 (месяц не из будущего).",
    "nps.head": "📊 <b>NPS</b> · {kind} · {period}{manager}",
    "nps.head_manager": " · менеджер {name}",
    "nps.all_kinds": "все группы",
    "nps.value": "NPS: <b>{nps}</b>",
    "nps.moe": " ± {moe} (95%)",
    "nps.change": "К предыдущему периоду: {delta} (было {before})",
    "nps.change_none": "К предыдущему периоду: раньше ответов не было",
    "nps.parts": (
        "Промоутеры (9–10): {p} ({p_share}%)\n"
        "Нейтралы (7–8): {n} ({n_share}%)\n"
        "Критики (0–6): {d} ({d_share}%)"
    ),
    "nps.rate": (
        "Ответили: {answered} из "
        "{invited:приглашённого|приглашённых|приглашённых|приглашённого} ({rate}%)"
    ),
    "nps.median": "Медиана от продажи до ответа: {value}",
    "nps.none_in_period": "За этот период ответов нет.",
    "nps.cases": (
        "Случаи за период: решено {resolved} из {opened} ({share}%), медиана решения {median}"
    ),
    "nps.cases_none": "Случаев за период нет.",
    "nps.hint": "Месяц: /nps 2026-11",
    "nps.btn_all_kinds": "Все",
    "nps.btn_manager": "👤 Менеджер: {name}",
    "nps.btn_all_managers": "все",
    "nps.pick_manager": "Выберите менеджера:",
    "duration.hours": "{value:час|часа|часов|часа}",
    "duration.days": "{value:день|дня|дней|дня}",
    "managers.stats_head": "👥 <b>Менеджеры</b> · {period}",
    "managers.stats_line": (
        "{n}. <b>{name}</b>{inactive}\n"
        "   сделок {deals} · опросов {sent} · открыли {opened} · ответили {answered} ({share}%)"
        " · NPS {nps} · просрочено дел {overdue} · упущено {missed} · открытых случаев {cases}"
    ),
    "managers.inactive_mark": " (доступ отключён)",
    "managers.stats_none": "нет",
    "managers.page": "Стр. {page} из {pages} · всего {total}",
    "comments.head": "💬 <b>Комментарии</b> · {category} · {kind} · всего {total}",
    "comments.empty": "Комментариев с такими условиями нет.",
    "comments.item": "<b>{score}</b> · {date} · {name} ({kind}) · менеджер {manager}\n{reason}",
    "comments.reason": "«{reason}»",
    "comments.reason_cut": "«{reason}» (ещё {more} — кнопка 📄 {n})",
    "comments.btn_whole": "📄 {n}",
    "plural.char": "знак|знака|знаков|знака",
    "comments.page": "Стр. {page} из {pages}",
    "comments.cat_all": "Все оценки",
    "comments.cat_promoter": "Промоутеры",
    "comments.cat_passive": "Нейтралы",
    "comments.cat_detractor": "Критики",
    "comments.kind_all": "все группы",
    "cmd.comments": "Комментарии клиентов",
}
