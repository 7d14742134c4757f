"""Texts of the owner's reports: /nps by period, /managers, /comments, /referrals."""

TEXTS: dict[str, str] = {
    "period.7": "7 days",
    "period.30": "30 days",
    "period.90": "90 days",
    "period.y": "This year",
    "period.all": "All time",
    "period.month": "{month}",
    "period.range": "{first}–{last}",
    "period.since_start": "all time, to {last}",
    "period.bad_month": (
        "I didn't understand the month. Example: /nps 2026-11 (not a future month)."
    ),
    "nps.head": "📊 <b>NPS</b> · {kind} · {period}{manager}",
    "nps.head_manager": " · manager {name}",
    "nps.all_kinds": "all groups",
    "nps.value": "NPS: <b>{nps}</b>",
    "nps.moe": " ± {moe} (95%)",
    "nps.change": "Against the previous period: {delta} (was {before})",
    "nps.change_none": "Against the previous period: no answers before",
    "nps.parts": (
        "Promoters (9–10): {p} ({p_share}%)\n"
        "Passives (7–8): {n} ({n_share}%)\n"
        "Detractors (0–6): {d} ({d_share}%)"
    ),
    "nps.rate": "Answered: {answered} of {invited} invited ({rate}%)",
    "nps.median": "Median time from sale to answer: {value}",
    "nps.none_in_period": "No answers in this period.",
    "nps.cases": (
        "Cases in the period: {resolved} of {opened} resolved ({share}%), "
        "median time to resolve {median}"
    ),
    "nps.cases_none": "No cases in the period.",
    "nps.hint": "A month: /nps 2026-11",
    "nps.btn_all_kinds": "All",
    "nps.btn_manager": "👤 Manager: {name}",
    "nps.btn_all_managers": "all",
    "nps.pick_manager": "Choose a manager:",
    "duration.hours": "{value} h",
    "duration.days": "{value} days",
    "managers.stats_head": "👥 <b>Managers</b> · {period}",
    "managers.stats_line": (
        "{n}. <b>{name}</b>{inactive}\n"
        "   deals {deals} · surveys {sent} · opened {opened} · answered {answered} ({share}%)"
        " · NPS {nps} · overdue tasks {overdue} · missed {missed} · open cases {cases}"
    ),
    "managers.inactive_mark": " (access removed)",
    "managers.stats_none": "none",
    "managers.page": "Page {page} of {pages} · {total} in all",
    "comments.head": "💬 <b>Comments</b> · {category} · {kind} · {total} in all",
    "comments.empty": "No comments match.",
    "comments.item": "<b>{score}</b> · {date} · {name} ({kind}) · manager {manager}\n{reason}",
    "comments.reason": "“{reason}”",
    "comments.reason_cut": "“{reason}” ({more} more — button 📄 {n})",
    "comments.btn_whole": "📄 {n}",
    "plural.char": "character|characters",
    "comments.page": "Page {page} of {pages}",
    "comments.cat_all": "All scores",
    "comments.cat_promoter": "Promoters",
    "comments.cat_passive": "Passives",
    "comments.cat_detractor": "Detractors",
    "comments.kind_all": "all groups",
    "cmd.comments": "Clients' comments",
}
