"""Texts of the referral programme (same keys as ru_referral.py)."""

TEXTS: dict[str, str] = {
    "referral.thanks_client": (
        "\n\nYour personal referral code: <b>{code}</b>. If you recommend us to friends, forward "
        "them this link — we will know they came from you:\n{link}"
    ),
    "referral.thanks_partner": (
        "\n\nYour personal referral code: <b>{code}</b>. If you recommend us to colleagues or "
        "partners, forward them this link — we will know they came from you:\n{link}"
    ),
    "referral.greeting": (
        "Hello! {promoter}, a client of {company}, invited you. What is your name?"
    ),
    "referral.greeting_anonymous": (
        "Hello! One of our clients invited you. This is {company}. What is your name?"
    ),
    "referral.name_invalid": (
        "Please type your name as text, {min} to {max:character|characters}."
    ),
    "referral.ask_phone": (
        "Thank you, {name}! Please leave your phone number so a manager can contact you: "
        "tap “Share my phone” below or type it."
    ),
    "referral.done": "Thank you! A manager of {company} will contact you soon.",
    "referral.known": "Thank you! You are already in our records — your manager knows you.",
    "referral.staff": "This is a referral link for new clients; staff do not need it.",
    "referral.lead_notice": (
        "🌟 A new client by referral!\n{name}{phone}\nBrought by: {promoter} (code {code}).\n"
        "Please contact them soon."
    ),
    "referrals.head": "🌟 <b>Referrals</b>: who brought whom",
    "referrals.empty": "Nobody has come with a referral code yet.",
    "referrals.line": (
        "{n}. {name} (code {code}) — came {leads}, became clients {customers}, deals {deals}"
    ),
    "cmd.referrals": "Who brought whom",
}
