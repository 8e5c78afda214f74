"""Configuration, read from the environment.

Development generates its own secret into instance/; Production refuses to start without one.
No secret has a default in this file.
"""

import base64
import os
import re
import secrets
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("DTECH_INSTANCE_DIR", BASE_DIR / "instance"))


class ConfigError(RuntimeError):
    """The environment does not describe a configuration we may run with."""


def _env_bool(name: str, default: bool = False) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


def _instance_secret(name: str) -> str:
    """A secret kept in instance/<name>, created on first use (development only)."""
    path = INSTANCE_DIR / name
    if not path.exists():
        INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def parse_data_keys(text: str) -> tuple[str, ...]:
    """DTECH_DATA_KEYS: Fernet keys separated by commas, the current one first (it encrypts; all of them decrypt,
    so that a key being retired still reads what it wrote until `flask rotate-data-keys` has run)."""
    keys = tuple(filter(None, (part.strip() for part in text.split(","))))
    for key in keys:
        try:
            valid = len(base64.urlsafe_b64decode(key.encode("ascii"))) == 32 and len(key) == 44
        except (ValueError, UnicodeEncodeError):
            valid = False
        if not valid:
            raise ConfigError("DTECH_DATA_KEYS holds Fernet keys (44 characters each, separated by commas); make one "
                              "with: python3 -c \"from cryptography.fernet import Fernet; "
                              "print(Fernet.generate_key().decode())\"")
    if len(set(keys)) != len(keys):
        raise ConfigError("DTECH_DATA_KEYS names a key twice.")
    return keys


def new_data_key() -> str:
    """A fresh Fernet key (32 random bytes, base64url), as Fernet.generate_key() makes it."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode("ascii")


def _instance_data_key() -> str:
    """Development's data key, kept in instance/data_key, created on first use."""
    path = INSTANCE_DIR / "data_key"
    if not path.exists():
        INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(new_data_key())
        path.chmod(0o600)
    return path.read_text().strip()


def vapid_key_file() -> Path:
    """Where development keeps its web push key (`flask push keys` writes it)."""
    return INSTANCE_DIR / "vapid_private_key"


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def normalise_database_url(url: str) -> str:
    """Hosting platforms hand out postgres:// URLs; SQLAlchemy wants the psycopg 3 driver named."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _rupees_setting(name: str, default: str) -> Decimal:
    """A non-negative amount in rupees from the environment; a typo stops the start, never a silent 0."""
    try:
        value = Decimal(os.environ.get(name, default).strip())
    except ArithmeticError:
        raise ConfigError(f"{name} must be an amount in rupees, like 5000.") from None
    if not value.is_finite() or value < 0:
        raise ConfigError(f"{name} must be an amount in rupees, like 5000.")
    return value


DEFAULT_CHEQUE_BOUNCE_CHARGE = "150.00"  # ₹, the cheque dishonour fee unless DTECH_CHEQUE_BOUNCE_CHARGE says


class Config:
    """Settings common to every environment. Values from the environment are read when it is created."""

    DEFAULT_PAYMENT_GATEWAY = "sandbox"

    # hide_parameters: a database error (logged, sent to Sentry) names its statement, never the values in it.
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True, "hide_parameters": True}

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_DURATION = timedelta(days=30)
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    MAX_CONTENT_LENGTH = 6 * 1024 * 1024  # a meter photo straight from a phone camera, with room to spare
    # A request body: each read may wait this long, and all of it must arrive within the deadline (seconds).
    # 6 MB at 2G speeds (~100 KB/s) takes a minute; a stalled or lying client is cut off much sooner.
    BODY_READ_TIMEOUT = 10
    BODY_READ_DEADLINE = 90
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session; a slow form must not fail

    BABEL_DEFAULT_LOCALE = "en_IN"
    BABEL_DEFAULT_TIMEZONE = "Asia/Kolkata"
    LANGUAGES = ("en_IN", "hi_IN")

    PASSWORD_RESET_TTL = timedelta(minutes=30)
    # A new staff member's link to choose their first password (the same one-time links as resets).
    STAFF_INVITE_TTL = timedelta(hours=48)

    # Web push goes only to these push services (and their subdomains): the server POSTs to a subscription's
    # endpoint, so a made-up one must never point it at our own network. PUSH_ALLOW_LOCAL: the tests' services.
    PUSH_SERVICE_HOSTS = ("fcm.googleapis.com", "push.services.mozilla.com", "notify.windows.com",
                          "push.apple.com")
    PUSH_ALLOW_LOCAL = False

    # Static files: the build that `make static` writes (hashed names, .br and .gz); app/web/static_files.py.
    STATIC_BUILD_FOLDER = str(BASE_DIR / "build" / "static")
    # Pages, fragments and JSON: compressed per request (Flask-Compress) when the client accepts brotli or gzip.
    # Not streamed responses (PDFs, downloads) nor bodies under 500 bytes, where it would not pay.
    COMPRESS_ALGORITHM = ["br", "gzip"]
    COMPRESS_MIMETYPES = ["text/html", "text/plain", "text/css", "text/javascript", "text/csv", "application/json",
                          "application/manifest+json", "image/svg+xml"]
    COMPRESS_BR_LEVEL = 5  # per request: quick, yet close to gzip 9 on a page
    COMPRESS_STREAMS = False
    COMPRESS_MIN_SIZE = 500
    COMPRESS_EVALUATE_CONDITIONAL_REQUEST = False  # pages carry no validators; static files have WhiteNoise's

    # Throttles: (attempts, window). Counted in the database so they hold across workers.
    LOGIN_LIMIT_PER_ACCOUNT = (5, timedelta(minutes=15))
    # Per IP the limits are generous: behind carrier NAT many customers share one address.
    LOGIN_LIMIT_PER_IP = (100, timedelta(minutes=15))
    REGISTER_LIMIT_PER_IP = (20, timedelta(hours=1))
    SIGN_UP_TTL = timedelta(hours=1)  # a sign-up waits this long for its code (new codes may be asked for meanwhile)
    # Linking: unknown consumer numbers and wrong bill amounts, per user and per address. Never per connection:
    # guessers must not be able to block its real holder.
    LINK_LIMIT_PER_USER = (5, timedelta(hours=1))
    LINK_LIMIT_PER_IP = (50, timedelta(hours=1))
    LINK_REQUESTS_PER_USER = (3, timedelta(days=1))  # bill-amount requests that staff must look at
    # One-time codes (app/auth/codes.py): how long one works, how many wrong tries it takes, how soon another may
    # be sent; how many are sent per user, and how many wrong codes a user or an address may type.
    CODE_TTL = timedelta(minutes=10)
    CODE_MAX_ATTEMPTS = 5
    CODE_RESEND_AFTER = timedelta(seconds=60)
    CODE_SENDS_PER_USER = (5, timedelta(hours=1))
    CODE_WRONG_PER_USER = (10, timedelta(hours=1))
    CODE_WRONG_PER_IP = (100, timedelta(minutes=15))
    # Writes a signed-in customer makes (auth.access.limited): enough for any real use, not for a script.
    READINGS_LIMIT_PER_USER = (20, timedelta(hours=1))
    COMPLAINTS_LIMIT_PER_USER = (20, timedelta(hours=1))  # new complaints, comments and reopenings together
    PUSH_LIMIT_PER_USER = (60, timedelta(hours=1))
    RESET_LIMIT_PER_IP = (10, timedelta(hours=1))
    RESET_LIMIT_PER_USER = (3, timedelta(hours=1))

    def __init__(self) -> None:
        self._read_session_settings()
        # Fields never searched (addresses, complaint texts) are encrypted with these (app/crypto/); each
        # environment below says where they come from when DTECH_DATA_KEYS is not set.
        self.DATA_KEYS = parse_data_keys(os.environ.get("DTECH_DATA_KEYS", ""))
        url = os.environ.get("DATABASE_URL")
        if not url:
            INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
            url = sqlite_url(INSTANCE_DIR / "dtech.sqlite3")
        self.SQLALCHEMY_DATABASE_URI = normalise_database_url(url)
        # Where messages (reset links, one-time codes, alerts) go: "console" (development), "msg91" or
        # "module:Class" (app/messaging/senders.py). DTECH_SMS_SENDER, when set, takes those to mobile numbers and
        # MESSAGE_SENDER keeps the rest (email addresses).
        self.MESSAGE_SENDER = os.environ.get("DTECH_MESSAGE_SENDER", "console").strip()
        self.SMS_SENDER = os.environ.get("DTECH_SMS_SENDER", "").strip()
        self._read_sms_settings()
        self.UTILITY_NAME = os.environ.get("DTECH_UTILITY_NAME", "D-Tech Power")
        # The number a customer calls about their connection (1912: India's electricity complaint line).
        self.UTILITY_HELPLINE = os.environ.get("DTECH_UTILITY_HELPLINE", "1912")
        # The task queue (Huey): Redis when REDIS_URL is set (consumers on several hosts share it), else a SQLite
        # file in instance/ (one host). TASKS_IMMEDIATE runs each task at once in the caller (tests).
        self.REDIS_URL = os.environ.get("REDIS_URL") or None
        self.TASK_QUEUE_NAME = os.environ.get("DTECH_QUEUE_NAME", "dtech")
        self.TASK_QUEUE_FILE = str(INSTANCE_DIR / "tasks.sqlite3")
        self.TASKS_IMMEDIATE = False
        # Notifications (push, SMS) are sent by this many threads at once in each consumer's sending task.
        self.NOTIFICATION_SEND_THREADS = int(os.environ.get("DTECH_NOTIFICATION_SEND_THREADS", "4"))
        self.UPLOAD_FOLDER = os.environ.get("DTECH_UPLOAD_FOLDER", str(INSTANCE_DIR / "uploads"))
        # How many proxies (load balancer, nginx) stand in front and set X-Forwarded-For / -Proto.
        self.PROXY_HOPS = int(os.environ.get("DTECH_PROXY_HOPS", "0"))
        # The site's own address (scheme and host, e.g. https://bills.utility.example) for links sent away from it
        # (reset and invite links): never the Host a client sent (app/web/site.py). Production requires it.
        self.PUBLIC_URL = os.environ.get("DTECH_PUBLIC_URL", "").strip().rstrip("/")
        # The UPI collection account (VPA) and the name customers' UPI apps show for it.
        self.UPI_VPA = os.environ.get("DTECH_UPI_VPA", "dtechpower@upi")
        self.UPI_PAYEE_NAME = os.environ.get("DTECH_UPI_PAYEE_NAME", self.UTILITY_NAME)
        # Payments: the gateway is "sandbox" (built-in test mode), "razorpay" or "" (online payments off).
        # Razorpay's keys come from the environment only; the sandbox derives its own from SECRET_KEY.
        self.PAYMENT_GATEWAY = os.environ.get("DTECH_PAYMENT_GATEWAY", self.DEFAULT_PAYMENT_GATEWAY).strip()
        self.RAZORPAY_KEY_ID = os.environ.get("RAZORPAY_KEY_ID")
        self.RAZORPAY_KEY_SECRET = os.environ.get("RAZORPAY_KEY_SECRET")
        self.RAZORPAY_WEBHOOK_SECRET = os.environ.get("RAZORPAY_WEBHOOK_SECRET")
        if self.PAYMENT_GATEWAY not in ("", "sandbox", "razorpay"):
            raise ConfigError("DTECH_PAYMENT_GATEWAY must be sandbox, razorpay or empty.")
        if self.PAYMENT_GATEWAY == "razorpay" and not (self.RAZORPAY_KEY_ID and self.RAZORPAY_KEY_SECRET
                                                       and self.RAZORPAY_WEBHOOK_SECRET):
            raise ConfigError("Razorpay needs RAZORPAY_KEY_ID, RAZORPAY_KEY_SECRET and RAZORPAY_WEBHOOK_SECRET.")
        self.CASH_LIMIT = Decimal(os.environ.get("DTECH_CASH_LIMIT", "10000"))  # per connection and day, ₹
        # A cheque or draft the bank returns costs the consumer this fee (₹, no GST: a statutory charge of the
        # licensee), put on the ledger when staff mark it bounced. State supply codes' schedules of charges
        # set one; 150 is the default, set it to the state's figure (0: none).
        self.CHEQUE_BOUNCE_CHARGE = _rupees_setting("DTECH_CHEQUE_BOUNCE_CHARGE", DEFAULT_CHEQUE_BOUNCE_CHARGE)
        # Refunds and UPI confirmations above this (₹), or proposed by support, need a second staff member.
        self.APPROVAL_LIMIT = _rupees_setting("DTECH_APPROVAL_LIMIT", "5000")
        self.PAYMENT_RECONCILE_AFTER_MINUTES = int(os.environ.get("DTECH_RECONCILE_AFTER_MINUTES", "15"))
        self.SANDBOX_LATE_AFTER_SECONDS = int(os.environ.get("DTECH_SANDBOX_LATE_SECONDS", "120"))
        # How long the service worker waits for a page before showing the copy kept on the phone.
        self.PWA_SLOW_PAGE_MS = 3000
        # Web push (VAPID): the private key, raw and base64url (`flask push keys` makes one; the public key the
        # page subscribes with is derived from it). Without it push is off and no page offers it. The subject is
        # who push services contact about our messages (mailto: or https:).
        self.VAPID_PRIVATE_KEY = os.environ.get("DTECH_VAPID_PRIVATE_KEY") or None
        self.VAPID_SUBJECT = os.environ.get("DTECH_VAPID_SUBJECT") or None
        self.COMPLAINT_TIME_LIMITS = parse_time_limits(os.environ.get("DTECH_COMPLAINT_TIME_LIMITS", ""))
        # Where a customer goes when the utility's answer to a complaint (reopened once) still does not satisfy
        # them: the Consumer Grievance Redressal Forum (section 42(5) of the Electricity Act, 2003), and after it
        # the Electricity Ombudsman. Its name and address as printed on the bill; unset, the page names the forum in
        # general words (in the customer's language) and points to the address on the bill.
        self.GRIEVANCE_FORUM_NAME = os.environ.get("DTECH_GRIEVANCE_FORUM_NAME", "").strip()
        self.GRIEVANCE_FORUM_ADDRESS = os.environ.get("DTECH_GRIEVANCE_FORUM_ADDRESS", "").strip()
        self._read_operations_settings()
        self._read_privacy_settings()

    LOG_FORMAT_DEFAULT = "text"

    def _read_operations_settings(self) -> None:
        """Logs, metrics and error reporting (README "Operations").
        Logs: DTECH_LOG_FORMAT "json" (one object a line, production's default, for a log shipper) or "text"
        (development's default, for a person at a terminal); DTECH_LOG_LEVEL (INFO).
        Metrics: /metrics answers only a request with `Authorization: Bearer <DTECH_METRICS_TOKEN>`; unset, 404.
        Errors go to Sentry only when SENTRY_DSN is set."""
        self.LOG_FORMAT = os.environ.get("DTECH_LOG_FORMAT", self.LOG_FORMAT_DEFAULT).strip().lower()
        if self.LOG_FORMAT not in ("json", "text"):
            raise ConfigError("DTECH_LOG_FORMAT must be json or text.")
        self.LOG_LEVEL = os.environ.get("DTECH_LOG_LEVEL", "INFO").strip().upper()
        if self.LOG_LEVEL not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            raise ConfigError("DTECH_LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR.")
        self.METRICS_TOKEN = os.environ.get("DTECH_METRICS_TOKEN", "").strip() or None
        if self.METRICS_TOKEN and len(self.METRICS_TOKEN) < 16:
            raise ConfigError("DTECH_METRICS_TOKEN must be at least 16 random characters.")
        self.SENTRY_DSN = os.environ.get("SENTRY_DSN", "").strip() or None
        self.SENTRY_ENVIRONMENT = os.environ.get("SENTRY_ENVIRONMENT") or os.environ.get("DTECH_ENV", "development")
        self.SENTRY_RELEASE = os.environ.get("SENTRY_RELEASE") or None
        try:
            self.SENTRY_TRACES_SAMPLE_RATE = float(os.environ.get("SENTRY_TRACES_SAMPLE_RATE", "0"))
        except ValueError:
            raise ConfigError("SENTRY_TRACES_SAMPLE_RATE must be a number from 0 to 1.") from None


    def _read_privacy_settings(self) -> None:
        """The privacy notice (templates/auth/privacy_*.html) and how long personal data is kept (DPDP Act 2023).
        PRIVACY_NOTICE_VERSION changes when the notice does: each customer is then asked once to accept the new
        one. The grievance officer the notice names (section 8(10)) comes from DTECH_GRIEVANCE_OFFICER_NAME,
        _EMAIL and _PHONE. DTECH_KEEP_* are days: each domain's periodic prune task reads them (docs/deployment.md)."""
        self.PRIVACY_NOTICE_VERSION = os.environ.get("DTECH_PRIVACY_NOTICE_VERSION", "2026-12-01").strip()
        if not re.fullmatch(r"[\w.-]{1,20}", self.PRIVACY_NOTICE_VERSION):
            raise ConfigError("DTECH_PRIVACY_NOTICE_VERSION: up to 20 letters, digits, dots or dashes.")
        self.GRIEVANCE_OFFICER_NAME = os.environ.get("DTECH_GRIEVANCE_OFFICER_NAME", "Grievance Officer").strip()
        self.GRIEVANCE_OFFICER_EMAIL = os.environ.get("DTECH_GRIEVANCE_OFFICER_EMAIL", "grievance@example.in").strip()
        self.GRIEVANCE_OFFICER_PHONE = os.environ.get("DTECH_GRIEVANCE_OFFICER_PHONE", "1912").strip()
        self.KEEP = {name: _days_setting(f"DTECH_KEEP_{name.upper()}_DAYS", days)
                     for name, days in DEFAULT_KEEP_DAYS.items()}

    def _read_session_settings(self) -> None:
        """How long a sign-in lasts (app/auth/sessions.py): ended after IDLE without a request, and MAX after
        signing in whatever happens. Staff handle money and personal data on shared office desks: an hour idle, a
        working day at most. Customers are on their own phones: a month idle, three months at most."""
        self.SESSION_IDLE = {"staff": _duration_setting("DTECH_STAFF_SESSION_IDLE", "1h"),
                             "customer": _duration_setting("DTECH_CUSTOMER_SESSION_IDLE", "30d")}
        self.SESSION_MAX = {"staff": _duration_setting("DTECH_STAFF_SESSION_MAX", "12h"),
                            "customer": _duration_setting("DTECH_CUSTOMER_SESSION_MAX", "90d")}
        # The cookie lasts a day past the longest idle limit (Flask refuses an older one): the app ends the session
        # itself, and can then say why.
        self.PERMANENT_SESSION_LIFETIME = max(self.SESSION_IDLE.values()) + timedelta(days=1)

    def _read_sms_settings(self) -> None:
        """Indian SMS must use templates registered on the DLT platform (TRAI). Each message kind sent by SMS
        (app/messaging/kinds.py) has its template id in DTECH_SMS_TEMPLATES, "kind=id" pairs separated by commas:
            DTECH_SMS_TEMPLATES="password_reset=6571a1b2c3d4e5f6a7b8c9d0,otp=6571a1b2c3d4e5f6a7b8c9d1"
        A kind without a template is not sent by SMS (given up with that reason; start-up warns of it).
        MSG91 (DTECH_SMS_SENDER=msg91): the ids are MSG91 template ids. Register each DLT template (its DLT
        template id, header and entity/PE id) in MSG91's panel as an MSG91 template whose variables carry the
        names app/messaging/kinds.py lists (##link##, ##minutes##); MSG91 sends the DLT ids itself. The auth key
        comes from MSG91_AUTH_KEY only (never logged). DTECH_SMS_SENDER_ID, the 6-letter DLT header (DTECHP), is
        sent as the sender when set (else the template's own)."""
        self.SMS_TEMPLATES = parse_sms_templates(os.environ.get("DTECH_SMS_TEMPLATES", ""))
        self.SMS_SENDER_ID = os.environ.get("DTECH_SMS_SENDER_ID", "").strip().upper() or None
        if self.SMS_SENDER_ID and not re.fullmatch(r"[A-Z]{6}", self.SMS_SENDER_ID):
            raise ConfigError("DTECH_SMS_SENDER_ID is a DLT header: 6 letters, such as DTECHP.")
        self.MSG91_AUTH_KEY = os.environ.get("MSG91_AUTH_KEY")
        if "msg91" in (self.MESSAGE_SENDER, self.SMS_SENDER):
            if not self.MSG91_AUTH_KEY:
                raise ConfigError("The msg91 sender needs MSG91_AUTH_KEY.")
            if not self.SMS_TEMPLATES:
                raise ConfigError("The msg91 sender sends DLT templates only: set DTECH_SMS_TEMPLATES.")


# Complaints: how long the utility has to resolve each category. These follow the state commission's Standards of
# Performance (SoP) regulations, made under sections 57 and 59 of the Electricity Act, 2003 (for example MERC's
# SoP Regulations, 2021, and the Electricity (Rights of Consumers) Rules, 2020): a supply failure in hours, a
# voltage complaint within a day, a faulty meter and a new connection in days, a billing dispute by the next
# weeks. The defaults below are typical urban values; a utility sets its own state's in DTECH_COMPLAINT_TIME_LIMITS
# ("no_supply=4h,voltage=24h,meter_fault=7d,billing_dispute=15d"). A complaint past its limit is escalated.
DEFAULT_COMPLAINT_TIME_LIMITS = {
    "no_supply": timedelta(hours=4),
    "voltage": timedelta(hours=24),
    "meter_fault": timedelta(days=7),
    "billing_dispute": timedelta(days=15),
    "new_connection": timedelta(days=7),
    "other": timedelta(days=15),
}


# How long personal data is kept, in days (each overridable by DTECH_KEEP_<NAME>_DAYS): sign-in history from the
# sign-in; the inbox from the notification; a closed complaint's photos from its closing; a sign-up never completed
# and a one-time code, from their expiry. Bills, payments and the ledger are the connection's accounts and are kept.
DEFAULT_KEEP_DAYS = {
    "sign_ins": 90,
    "notifications": 365,
    "complaint_photos": 365,
    "pending_sign_ups": 1,
    "one_time_codes": 1,
    "audit_addresses": 180,  # the network address of each audit row (the row itself stays)
}


def _days_setting(name: str, default: int) -> timedelta:
    text = os.environ.get(name, "").strip()
    if not text:
        return timedelta(days=default)
    if not text.isdigit() or int(text) < 1:
        raise ConfigError(f"{name} must be a whole number of days, 1 or more.")
    return timedelta(days=int(text))


_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def parse_duration(text: str, units: str = "mhd") -> timedelta | None:
    """'30m', '12h', '90d' (of the letters in `units`) → timedelta; None if it is not one."""
    match = re.fullmatch(rf"([1-9]\d{{0,3}})([{units}])", text.strip())
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))}) if match else None


def _duration_setting(name: str, default: str) -> timedelta:
    value = parse_duration(os.environ.get(name, default))
    if value is None:
        raise ConfigError(f"{name} must be a duration: <minutes>m, <hours>h or <days>d, like {default}.")
    return value


def parse_time_limits(text: str) -> dict[str, timedelta]:
    """"no_supply=6h,meter_fault=10d" over the defaults; ConfigError if malformed or naming no category."""
    limits = dict(DEFAULT_COMPLAINT_TIME_LIMITS)
    for entry in filter(None, (part.strip() for part in text.split(","))):
        category, _, amount = (piece.strip() for piece in entry.partition("="))
        limit = parse_duration(amount, units="hd")
        if category not in limits or limit is None:
            raise ConfigError(f"DTECH_COMPLAINT_TIME_LIMITS: {entry!r} is not category=<hours>h or <days>d.")
        limits[category] = limit
    return limits


def parse_sms_templates(text: str) -> dict[str, str]:
    """"otp=6571…,bill_issued=6572…" → {"otp": "6571…", "bill_issued": "6572…"}; ConfigError if malformed."""
    templates: dict[str, str] = {}
    for entry in filter(None, (part.strip() for part in text.split(","))):
        kind, _, template_id = (piece.strip() for piece in entry.partition("="))
        if not (re.fullmatch(r"[a-z][a-z0-9_]{0,39}", kind) and re.fullmatch(r"[A-Za-z0-9_-]{1,64}", template_id)):
            raise ConfigError(f"DTECH_SMS_TEMPLATES: {entry!r} is not kind=template_id.")
        if kind in templates:
            raise ConfigError(f"DTECH_SMS_TEMPLATES names {kind} twice.")
        templates[kind] = template_id
    return templates


class DevelopmentConfig(Config):
    DEMO_DATA_ALLOWED = True
    DEBUG = False  # the debugger is never on by default; set FLASK_DEBUG=1 to opt in
    VAPID_KEYS_IN_INSTANCE = True  # `flask push keys` writes the key into instance/ (vapid_key_file())

    def __init__(self) -> None:
        super().__init__()
        self.SECRET_KEY = os.environ.get("SECRET_KEY") or _instance_secret("secret_key")
        self.DATA_KEYS = self.DATA_KEYS or (_instance_data_key(),)
        if not self.VAPID_PRIVATE_KEY and vapid_key_file().exists():
            self.VAPID_PRIVATE_KEY = vapid_key_file().read_text().strip()
        self.VAPID_SUBJECT = self.VAPID_SUBJECT or "mailto:webpush@localhost.localdomain"


class TestingConfig(Config):
    __test__ = False  # not a pytest test class, despite the name
    TESTING = True
    DEMO_DATA_ALLOWED = True
    WTF_CSRF_ENABLED = False  # the CSRF tests switch it back on
    PASSWORD_HASH_FAST = True  # argon2 with small parameters, so the suite stays quick
    PUSH_ALLOW_LOCAL = True  # the local push services of the tests (web-push-testing, fakes)

    def __init__(self) -> None:
        super().__init__()
        self.MESSAGE_SENDER = "memory"
        self.SMS_SENDER = ""
        self.TASKS_IMMEDIATE = True  # a task runs in the test's process when it is enqueued (after the commit)
        # A busy CI machine can take more than 3 s to answer: only the slow-page test relies on the short wait.
        self.PWA_SLOW_PAGE_MS = 60_000
        self.SECRET_KEY = secrets.token_urlsafe(32)
        # tests/conftest.py sets DTECH_DATA_KEYS for the whole run (processes the tests start share it).
        self.DATA_KEYS = self.DATA_KEYS or (new_data_key(),)
        self.SENTRY_DSN = None  # a test that wants Sentry sets it (and a transport that sends nothing)
        self.PUBLIC_URL = ""  # links carry the test client's host; a test of the setting sets it
        url = os.environ.get("TEST_DATABASE_URL")
        self.SQLALCHEMY_DATABASE_URI = normalise_database_url(url) if url else "sqlite://"


class ProductionConfig(Config):
    DEFAULT_PAYMENT_GATEWAY = ""  # online payments stay off until a gateway is configured
    LOG_FORMAT_DEFAULT = "json"
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    PREFERRED_URL_SCHEME = "https"

    def __init__(self) -> None:
        super().__init__()
        self.SECRET_KEY = os.environ.get("SECRET_KEY", "")
        if len(self.SECRET_KEY) < 32:
            raise ConfigError("SECRET_KEY must be set to at least 32 random characters in production.")
        if not self.DATA_KEYS:
            raise ConfigError("DTECH_DATA_KEYS must be set in production: the key that encrypts addresses and "
                              "complaint texts (docs/deployment.md, \"Encrypted fields\").")
        if "DATABASE_URL" not in os.environ:
            raise ConfigError("DATABASE_URL must be set in production.")
        if self.SQLALCHEMY_DATABASE_URI.startswith("sqlite") and not _env_bool("DTECH_ALLOW_SQLITE"):
            raise ConfigError("Production runs on PostgreSQL; set DTECH_ALLOW_SQLITE=1 to allow SQLite.")
        if not re.fullmatch(r"https://[^/?#\s]+", self.PUBLIC_URL):
            raise ConfigError("Set DTECH_PUBLIC_URL to the site's own https:// address (scheme and host only): the "
                              "links in reset and invite messages are made from it, never from a client's Host.")
        if "DTECH_UPI_VPA" not in os.environ:
            raise ConfigError("Set DTECH_UPI_VPA to the utility's own UPI collection address in production.")
        if self.MESSAGE_SENDER == "console" and not _env_bool("DTECH_ALLOW_CONSOLE_SENDER"):
            raise ConfigError("Set DTECH_MESSAGE_SENDER to a real SMS or email sender in production.")
        if self.VAPID_PRIVATE_KEY and not (self.VAPID_SUBJECT or "").startswith(("mailto:", "https://")):
            raise ConfigError("Web push needs DTECH_VAPID_SUBJECT: a mailto: address or https: URL push services "
                              "can reach us at.")
        if self.PAYMENT_GATEWAY == "sandbox" and not _env_bool("DTECH_ALLOW_SANDBOX_GATEWAY"):
            raise ConfigError("The sandbox gateway credits payments nobody made; set DTECH_PAYMENT_GATEWAY=razorpay "
                              "(or DTECH_ALLOW_SANDBOX_GATEWAY=1 for a demo site).")


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def config_from_env(name: str | None = None) -> Config:
    name = name or os.environ.get("DTECH_ENV", "development")
    try:
        return CONFIGS[name]()
    except KeyError:
        raise ConfigError(f"DTECH_ENV must be one of {', '.join(CONFIGS)}, not {name!r}") from None
