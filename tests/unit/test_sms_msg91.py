"""The MSG91 adapter against answers transcribed from MSG91's API documentation (tests/data/msg91), replayed
through an injected transport; the urllib transport against a local HTTP server. No request leaves the machine."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from app.messaging.senders import Message, PermanentSendError, TemporarySendError
from app.messaging.sms.msg91 import API, Msg91Sender, urllib_transport

DATA = Path(__file__).resolve().parents[1] / "data" / "msg91"
AUTH_KEY = "msg91-test-auth-key-1234"
TEMPLATES = {"otp": "6571a1b2c3d4e5f6a7b8c9d1", "password_reset": "6571a1b2c3d4e5f6a7b8c9d0"}


def recorded(name: str) -> bytes:
    return (DATA / name).read_bytes()


class Replay:
    """A transport that answers from recorded responses and remembers what it was asked."""

    def __init__(self, *answers: tuple[int, bytes]) -> None:
        self.answers = list(answers)
        self.requests = []

    def __call__(self, headers, body):
        self.requests.append({"headers": headers, "json": json.loads(body)})
        return self.answers.pop(0)


def msg91(*answers, **config) -> tuple[Msg91Sender, Replay]:
    transport = Replay(*answers)
    settings = {"MSG91_AUTH_KEY": AUTH_KEY, "SMS_TEMPLATES": TEMPLATES, "SMS_SENDER_ID": None, **config}
    return Msg91Sender(settings, transport=transport), transport


def otp(to: str = "+919811111111") -> Message:
    return Message(to=to, subject="Your code", body="Your D-Tech code is 123456. It works for 10 minutes.",
                   kind="otp", params={"code": "123456", "minutes": "10"})


def test_a_message_goes_as_its_kinds_template_with_its_variables_and_the_request_id_comes_back():
    sender, transport = msg91((200, recorded("flow_sent.json")))
    assert sender.send(otp()) == "5762846b4f8d285d378b4567"
    (sent,) = transport.requests
    assert sent["json"] == {"template_id": "6571a1b2c3d4e5f6a7b8c9d1", "short_url": "0",
                            "recipients": [{"code": "123456", "minutes": "10", "mobiles": "919811111111"}]}
    assert sent["headers"]["authkey"] == AUTH_KEY and sent["headers"]["Content-Type"] == "application/json"
    assert "123456 . It works" not in json.dumps(sent["json"])  # the body is not sent: the template is


def test_the_dlt_header_is_sent_as_the_sender_when_configured():
    sender, transport = msg91((200, recorded("flow_sent.json")), SMS_SENDER_ID="DTECHP")
    sender.send(otp())
    assert transport.requests[0]["json"]["sender"] == "DTECHP"


def test_a_variable_cannot_replace_the_number():
    sender, transport = msg91((200, recorded("flow_sent.json")))
    sender.send(Message(to="+919811111111", subject="S", body="b", kind="otp", params={"mobiles": "919999999999"}))
    assert transport.requests[0]["json"]["recipients"] == [{"mobiles": "919811111111"}]


def test_a_kind_without_a_template_is_refused_for_good_before_any_request():
    sender, transport = msg91()
    with pytest.raises(PermanentSendError, match="no DLT template configured for message kind 'bill_issued'"):
        sender.send(Message(to="+919811111111", subject="S", body="b", kind="bill_issued"))
    assert transport.requests == []


@pytest.mark.parametrize("to", ["ravi@example.com", "+14155550100", "+91981111111", "9811111111"])
def test_only_indian_mobile_numbers_in_e164_are_sent(to):
    sender, transport = msg91()
    with pytest.raises(PermanentSendError, match="not an Indian mobile number"):
        sender.send(otp(to))
    assert transport.requests == []


@pytest.mark.parametrize("status", [200, 400])
@pytest.mark.parametrize("answer, reason", [
    ("error_106_missing_authkey.json", "code 106): Missing Authentication Key"),
    ("error_202_invalid_mobile.json", "code 202): Invalid mobile number"),
    ("error_207_invalid_authkey.json", "code 207): Invalid authentication key"),
    ("error_418_ip_not_whitelisted.json", "code 418): IP not whitelisted"),
])
def test_refusals_that_cannot_change_are_permanent(status, answer, reason):
    sender, _ = msg91((status, recorded(answer)))
    with pytest.raises(PermanentSendError) as refused:
        sender.send(otp())
    assert str(refused.value).startswith(f"MSG91 refused ({status} ") and reason in str(refused.value)


@pytest.mark.parametrize("answer", ["error_301_insufficient_balance.json", "error_306_route_unavailable.json"])
def test_a_refusal_someone_can_fix_is_tried_again(answer):
    sender, _ = msg91((200, recorded(answer)))
    with pytest.raises(TemporarySendError, match="MSG91 refused"):
        sender.send(otp())


def test_the_same_request_twice_within_ten_seconds_counts_as_sent():
    """MSG91 discarded the second of two identical requests: the first (whose answer we lost) went."""
    sender, _ = msg91((200, recorded("error_311_duplicate.json")))
    assert sender.send(otp()) is None


@pytest.mark.parametrize("status", [429, 500, 502, 503])
def test_busy_or_failing_servers_are_tried_again(status):
    sender, _ = msg91((status, b"<html><body>Service Temporarily Unavailable</body></html>"))
    with pytest.raises(TemporarySendError, match=f"MSG91 answered {status}"):
        sender.send(otp())


def test_an_unreadable_answer_is_tried_again_when_accepted_and_given_up_when_refused():
    sender, _ = msg91((200, b"OK"), (401, b"Unauthorized"), (200, b'{"type": "error"}'))
    with pytest.raises(TemporarySendError, match="not a JSON object"):
        sender.send(otp())
    with pytest.raises(PermanentSendError, match="401"):
        sender.send(otp())
    with pytest.raises(TemporarySendError, match="no reason given"):  # no code: nothing says it is for good
        sender.send(otp())


def test_the_auth_key_is_never_shown():
    sender, _ = msg91()
    assert AUTH_KEY not in repr(sender) and AUTH_KEY not in str(vars(sender).get("templates"))
    with pytest.raises(RuntimeError, match="MSG91_AUTH_KEY"):
        Msg91Sender({"SMS_TEMPLATES": TEMPLATES})


def test_the_api_is_msg91s_flow_endpoint_over_https():
    assert API == "https://control.msg91.com/api/v5/flow"


# --- the urllib transport, against a local server


class FakeMsg91(BaseHTTPRequestHandler):
    answer: tuple[int, bytes] = (200, b"")
    release = threading.Event()  # a handler told to hang waits for this
    seen: list = []

    def do_POST(self):  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).seen.append((self.headers.get("authkey"), json.loads(body)))  # any case
        status, payload = type(self).answer
        if status == 0:  # hang until the test is over: the client's timeout must end the wait
            type(self).release.wait(30)
            return
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def local_msg91():
    FakeMsg91.seen = []
    FakeMsg91.release = threading.Event()
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeMsg91)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/api/v5/flow"
    FakeMsg91.release.set()
    server.shutdown()
    server.server_close()


def over_http(url: str, timeout: float = 5) -> Msg91Sender:
    return Msg91Sender({"MSG91_AUTH_KEY": AUTH_KEY, "SMS_TEMPLATES": TEMPLATES},
                       transport=urllib_transport(url, timeout=timeout))


def test_over_http_an_accepted_message_gives_its_request_id(local_msg91):
    FakeMsg91.answer = (200, recorded("flow_sent.json"))
    assert over_http(local_msg91).send(otp()) == "5762846b4f8d285d378b4567"
    ((auth_key, body),) = FakeMsg91.seen
    assert auth_key == AUTH_KEY and body["recipients"][0]["mobiles"] == "919811111111"


def test_over_http_error_statuses_are_read_not_raised(local_msg91):
    FakeMsg91.answer = (401, recorded("error_207_invalid_authkey.json"))
    with pytest.raises(PermanentSendError, match="code 207"):
        over_http(local_msg91).send(otp())
    FakeMsg91.answer = (503, b"{}")
    with pytest.raises(TemporarySendError, match="503"):
        over_http(local_msg91).send(otp())


def test_over_http_no_answer_in_time_is_tried_again(local_msg91):
    FakeMsg91.answer = (0, b"")
    with pytest.raises(TemporarySendError, match="could not reach MSG91"):
        over_http(local_msg91, timeout=0.2).send(otp())


def test_over_http_nobody_listening_is_tried_again(local_msg91):
    closed = ThreadingHTTPServer(("127.0.0.1", 0), FakeMsg91)
    port = closed.server_address[1]
    closed.server_close()  # the port is free again: nothing answers there
    with pytest.raises(TemporarySendError, match="could not reach MSG91"):
        over_http(f"http://127.0.0.1:{port}/api/v5/flow").send(otp())
