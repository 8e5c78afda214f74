"""SMS through MSG91 (msg91.com), with its Flow API: POST https://control.msg91.com/api/v5/flow with the
`authkey` header and a JSON body naming the MSG91 template and, per recipient, the number and the template's
variables. MSG91 templates carry the DLT template id, the sender id (header) and the entity (PE) id registered in
MSG91's panel, so a request needs none of them; DTECH_SMS_SENDER_ID, when set, is sent as `sender`.

Why MSG91: an Indian provider built around DLT (a template is registered once with its DLT ids and is verified
against DLT before it can be used), a plain JSON API with a key in a header, answers that say accepted or why
not, delivery reports by webhook keyed by the request id it returns (kept as the message's provider_ref).

HTTP with urllib (no SDK), as the Razorpay adapter; the transport is injectable, so tests replay responses
transcribed from MSG91's documentation (tests/data/msg91) and never reach MSG91. The auth key is never logged
or shown (repr) and never stored with an error.

MSG91's answers and what the outbox does with them:
- {"type": "success", "message": "<request id>"}: sent.
- a 5xx, a 429, no answer or a timeout; or error 301 (insufficient balance: someone tops up) or 306 (route
  unavailable for now): tried again later (TemporarySendError).
- error 311 (the same request twice within 10 s): the first one was accepted, so it counts as sent.
- any other refusal (a 4xx, or an error code such as 202 invalid number, 207 invalid key, 418 IP not
  whitelisted, a template that does not exist or does not match): given up at once (PermanentSendError).
- a 2xx that is neither a success nor a coded error: tried again (at most MAX_ATTEMPTS times).
"""

from __future__ import annotations

import json
from collections.abc import Callable

from app.messaging.senders import Message, PermanentSendError, TemporarySendError
from app.messaging.sms import indian_mobile_digits, template_for
from app.web.http_client import Unreachable, http_call

API = "https://control.msg91.com/api/v5/flow"
TIMEOUT = 10  # seconds for each network step; an outbox retry follows a timeout

# MSG91's error codes (its API documentation's table) that trying again can fix, and the one that means sent.
RETRY_LATER_CODES = {"301", "306"}  # insufficient balance; route unavailable at this hour
DUPLICATE_CODE = "311"  # "same request was generated twice within 10 seconds": the first one went

# (headers, body) -> (HTTP status, response body)
Transport = Callable[[dict[str, str], bytes], tuple[int, bytes]]


def urllib_transport(url: str = API, timeout: float = TIMEOUT) -> Transport:
    def post(headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        try:
            return http_call("POST", url, headers, body, timeout)
        except Unreachable as error:
            raise TemporarySendError(f"could not reach MSG91 ({error})") from None

    return post


class Msg91Sender:
    uses_templates = True  # sends a DLT template's id and variables, not the body

    def __init__(self, config, transport: Transport | None = None) -> None:
        if not config.get("MSG91_AUTH_KEY"):
            raise RuntimeError("The MSG91 sender needs MSG91_AUTH_KEY.")
        self._auth_key = config["MSG91_AUTH_KEY"]
        self.templates = dict(config.get("SMS_TEMPLATES") or {})
        self.sender_id = config.get("SMS_SENDER_ID")
        self._post = transport or urllib_transport()

    def __repr__(self) -> str:  # never show the key
        return f"Msg91Sender(templates={sorted(self.templates)}, sender_id={self.sender_id!r})"

    def send(self, message: Message) -> str | None:
        """Send one SMS; its MSG91 request id, or an exception saying whether to try again."""
        template_id = template_for(self.templates, message.kind)
        recipient = {**message.params, "mobiles": indian_mobile_digits(message.to)}
        payload: dict = {"template_id": template_id, "short_url": "0", "recipients": [recipient]}
        if self.sender_id:
            payload["sender"] = self.sender_id
        headers = {"authkey": self._auth_key, "Content-Type": "application/json", "Accept": "application/json"}
        status, raw = self._post(headers, json.dumps(payload, separators=(",", ":")).encode())
        return request_id_from(status, raw)


def request_id_from(status: int, raw: bytes) -> str | None:
    """MSG91's answer read: the request id when accepted, else the exception the outbox acts on."""
    if status == 429 or status >= 500:
        raise TemporarySendError(f"MSG91 answered {status}; trying again later")
    try:
        data = json.loads(raw or b"{}")
    except (ValueError, UnicodeDecodeError):
        data = None
    if not isinstance(data, dict):
        if 200 <= status < 300:
            raise TemporarySendError(f"MSG91 answered {status} with a body that is not a JSON object")
        raise PermanentSendError(f"MSG91 refused the request ({status}, no JSON answer)")
    if 200 <= status < 300 and data.get("type") == "success":
        return str(data.get("message") or "") or None
    code = str(data.get("code") or "")
    reason = f"MSG91 refused ({status}{' code ' + code if code else ''}): {data.get('message') or 'no reason given'}"
    if code == DUPLICATE_CODE:
        return None
    if code in RETRY_LATER_CODES:
        raise TemporarySendError(reason[:200])
    if 400 <= status < 500 or code:
        raise PermanentSendError(reason[:200])
    raise TemporarySendError(reason[:200])
