"""Message senders: how a text (a reset link, later an SMS alert) reaches a person.

Code never calls a sender itself: it queues the message (app.messaging.outbox.queue_message), and the task
queue hands it to the sender after the transaction commits.

Configured by MESSAGE_SENDER: "console" (development: printed on the server's terminal), "memory"
(tests: kept in a list), or "package.module:ClassName" for a real SMS or email provider, a class with
`send(message: Message) -> None` built from the app config.
"""

import importlib
import sys
from dataclasses import dataclass
from typing import Protocol

from flask import current_app


@dataclass(frozen=True)
class Message:
    to: str  # a mobile number (+91…) or an email address
    subject: str
    body: str


class MessageSender(Protocol):
    def send(self, message: Message) -> None: ...


class ConsoleSender:
    """Development only: prints the message for the developer at the terminal (never to the log)."""

    def __init__(self, config) -> None:
        pass

    def send(self, message: Message) -> None:
        print(f"\n--- message to {message.to}: {message.subject}\n{message.body}\n---", file=sys.stderr)


class MemorySender:
    """Tests: keeps what was sent."""

    def __init__(self, config) -> None:
        self.outbox: list[Message] = []

    def send(self, message: Message) -> None:
        self.outbox.append(message)


BUILT_IN = {"console": ConsoleSender, "memory": MemorySender}


def _sender_class(name: str):
    if name in BUILT_IN:
        return BUILT_IN[name]
    module_name, _, class_name = name.partition(":")
    return getattr(importlib.import_module(module_name), class_name)


def message_sender() -> MessageSender:
    """The app's sender, created once per app."""
    senders = current_app.extensions.setdefault("dtech_sender", {})
    if "sender" not in senders:
        senders["sender"] = _sender_class(current_app.config["MESSAGE_SENDER"])(current_app.config)
    return senders["sender"]

