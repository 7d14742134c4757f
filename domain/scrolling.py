"""Whether a message of the bot is still in sight, from message ids alone.

In a private chat the person's messages and the bot's share one sequence of message ids, so the
number of messages below a question is the newest id minus the question's id, minus one. A
question with at most `IN_SIGHT` messages below it is still on the screen of a phone (short
replies, a few lines each): the bot edits it in place or lets its buttons be. Further up, the
person would have to scroll for it: the bot asks again at the bottom and takes the buttons off
the old one, so there is still one set of buttons to press.
"""

from __future__ import annotations

IN_SIGHT = 4
"""Messages below a question that still leave it in sight (a phone shows about five short ones)."""


def below(question_id: int, newest_id: int) -> int:
    """How many messages of the chat lie between the question and the newest message."""
    return max(newest_id - question_id - 1, 0)


def scrolled_away(question_id: int | None, newest_id: int | None) -> bool:
    """True when the question is out of sight (or unknown: it has to be shown anew)."""
    if question_id is None:
        return True
    if newest_id is None:
        return False
    return below(question_id, newest_id) > IN_SIGHT
