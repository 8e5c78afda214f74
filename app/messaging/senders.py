"""Message senders: how a text (a reset link, a one-time code, an SMS alert) reaches a person.

Code never calls a sender itself: it queues the message (app.messaging.outbox.queue_message), and the task
queue hands it to the sender after the transaction commits.

Configured by MESSAGE_SENDER: "console" (development: printed on the server's terminal), "memory"
(tests: kept in a list), "msg91" (SMS through MSG91, app.messaging.sms.msg91) or "package.module:ClassName", a
class built from the app config with `send(message: Message) -> str | None` (the provider's reference for the
message, if it gives one). SMS_SENDER, when set, takes the messages to mobile numbers and MESSAGE_SENDER keeps
the rest (email addresses).

A sender says how a send failed by what it raises: PermanentSendError when trying again cannot help (an invalid
number, no DLT template for the kind, a refused key): the message is given up at once. Any other exception
(TemporarySendError, a network error, a provider's 5xx) is tried again later by the outbox.
"""

import importlib
import sys
from dataclasses import dataclass, field
from typing import Protocol

from flask import current_app


@dataclass(frozen=True)
class Message:
    to: str  # a mobile number (+91…) or an email address
    subject: str
    body: str  # the full text, for the console and email
    kind: str  # app.messaging.kinds.MessageKind: picks the DLT template of an SMS
    params: dict[str, str] = field(default_factory=dict)  # the template's variables (a template provider sends these)


class SendError(Exception):
    """A send that failed; its text is stored on the message (masked), so it must name no secret."""


class TemporarySendError(SendError):
    """It may work later (the provider is down or busy): the outbox tries again after a wait."""


class PermanentSendError(SendError):
    """It will never work as it stands (bad number, no template, refused credentials): given up at once."""


class MessageSender(Protocol):
    def send(self, message: Message) -> str | None: ...


def is_mobile_number(to: str) -> bool:
    return "@" not in to


class ConsoleSender:
    """Development only: prints the message for the developer at the terminal (never to the log)."""

    def __init__(self, config) -> None:
        pass

    def send(self, message: Message) -> None:
        lines = [f"\n--- {message.kind} message to {message.to}: {message.subject}", message.body]
        lines += [f"  template variable {name} = {value}" for name, value in message.params.items()]
        print("\n".join([*lines, "---"]), file=sys.stderr)


class MemorySender:
    """Tests: keeps what was sent (each Message with its kind and params)."""

    def __init__(self, config) -> None:
        self.outbox: list[Message] = []

    def send(self, message: Message) -> None:
        self.outbox.append(message)


class RoutingSender:
    """Mobile numbers to the SMS sender, everything else (email addresses) to the other one."""

    def __init__(self, default: MessageSender, sms: MessageSender) -> None:
        self.default = default
        self.sms = sms

    def send(self, message: Message) -> str | None:
        return (self.sms if is_mobile_number(message.to) else self.default).send(message)


BUILT_IN = {"console": ConsoleSender, "memory": MemorySender, "msg91": "app.messaging.sms.msg91:Msg91Sender"}


def sender_class(name: str):
    found = BUILT_IN.get(name, name)
    if not isinstance(found, str):
        return found
    module_name, _, class_name = found.partition(":")
    return getattr(importlib.import_module(module_name), class_name)


def build_sender(config) -> MessageSender:
    default = sender_class(config["MESSAGE_SENDER"])(config)
    if not config.get("SMS_SENDER"):
        return default
    return RoutingSender(default, sender_class(config["SMS_SENDER"])(config))


def message_sender() -> MessageSender:
    """The app's sender, created once per app."""
    senders = current_app.extensions.setdefault("dtech_sender", {})
    if "sender" not in senders:
        senders["sender"] = build_sender(current_app.config)
    return senders["sender"]
