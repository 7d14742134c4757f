"""Recording a sale through /sale in handler tests (`SaleBot` walks the conversation)."""

from __future__ import annotations

from storage import Database
from storage.staff import create_invite, redeem_invite
from tests.conftest import OWNER_ID
from tests.harness import Harness, replies
from tests.helpers.chat import BotMessage, assert_one_live_set, bot_messages, chat_of, tap

MANAGER_ID = 222


async def add_manager(
    h: Harness, db: Database, user_id: int = MANAGER_ID, lang: str = "ru"
) -> None:
    invite = await create_invite(db, OWNER_ID, h.clock())
    await redeem_invite(db, invite.token, user_id, "Пётр Иванов", None, lang, h.clock())


class SaleBot:
    """Plays the manager's side of the conversation, on the chat as Telegram shows it
    (`tests.helpers.chat`): `last` is the bot's newest message, whose buttons `press` taps."""

    def __init__(self, h: Harness, user_id: int = MANAGER_ID, lang: str = "ru") -> None:
        self.h = h
        self.user = h.user(user_id, "Пётр", lang=lang)
        self.chat = chat_of(h, self.user)

    @property
    def last(self) -> BotMessage:
        """The bot's newest message in the chat (the /sale card while it is the newest)."""
        messages = bot_messages(self.chat)
        assert messages, "the bot has sent nothing"
        return messages[-1]

    @property
    def card(self) -> BotMessage:
        """The message with the /sale buttons (the one live set of the chat)."""
        live = assert_one_live_set(self.chat, exactly=True)
        assert live is not None
        return live

    async def say(self, text: str) -> list[str]:
        """Type `text`; the texts the bot sent or edited in reply."""
        return replies(await self.h.send(self.user, text))

    async def contact(self, phone: str, owner_id: int | None) -> None:
        await self.h.send_contact(self.user, phone, owner_id=owner_id)

    async def press(self, label: str) -> list:
        """Tap the button labelled `label` on the message that shows it."""
        return await tap(self.h, self.user, self.chat, label)

    async def fill(
        self,
        kind: str = "Клиент",
        name: str = "Анна Смирнова",
        phone: str | None = "8 916 123-45-67",
        birthday: str | None = "29.02",
        product: str = "Кухонный гарнитур",
    ) -> None:
        """Every question up to the summary (organisation skipped)."""
        await self.say("/sale")
        await self.press(kind)
        await self.say(name)
        await self.say(product)
        await self.press("Сегодня")
        await self.press("Пропустить")  # organisation
        if phone:
            await self.say(phone)
        else:
            await self.press("Пропустить")
        if birthday:
            await self.say(birthday)
        else:
            await self.press("Пропустить")
