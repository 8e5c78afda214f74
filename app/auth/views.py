from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, redirect, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from app import audit
from app.auth import codes, devices, privacy, services, sessions, sign_ins
from app.auth.access import customer_only, privacy_not_needed, public, signed_in, unverified_ok
from app.auth.codes import Purpose
from app.auth.contacts import hint_email, hint_mobile
from app.auth.forms import (
    AcceptPrivacyForm,
    ChangePasswordForm,
    CodeForm,
    ForgotPasswordForm,
    LoginForm,
    RegisterForm,
    ResetPasswordForm,
)
from app.auth.signals import user_signed_out
from app.extensions import db, login_manager
from app.i18n import indian_time
from app.web.templating import render

bp = Blueprint("auth", __name__)

login_manager.login_view = "auth.login"
login_manager.login_message = None  # the login page explains itself
login_manager.session_protection = None  # what binds a session: app/auth/sessions.py
login_manager.user_loader(services.load_user)


def client_ip() -> str:
    # Behind a proxy, set DTECH_PROXY_HOPS so ProxyFix makes remote_addr the client's address.
    return request.remote_addr or "unknown"


def home_url() -> str:
    return url_for("staff.home") if current_user.is_staff else url_for("portal.home")


def safe_next(target: str | None) -> str | None:
    """Only a path on this site may be the target after sign-in. Browsers drop tabs and newlines from URLs,
    so '/<tab>/evil.example' would become '//evil.example': any control character or backslash is refused."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(ord(char) < 32 or ord(char) == 127 for char in target):
        return None
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else None


def start_session(user) -> None:
    # A language picked on the sign-in pages is the user's latest choice: it is kept on their account.
    picked = session.get("locale") if session.get("locale_picked") else None
    session.clear()  # a fresh session: nothing else from before sign-in carries over
    if picked in current_app.config["LANGUAGES"] and picked != user.locale:
        user.locale = picked
    login_user(user)
    sessions.start()
    session.permanent = True
    session["locale"] = user.locale  # the error pages speak it even when the account cannot be loaded


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    if current_user.is_authenticated:
        return redirect(home_url())
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = services.authenticate(form.login.data, form.password.data, client_ip())
        except services.LoginLocked as locked:
            form.login.errors.append(_("Too many failed attempts. Try again after %(time)s.",
                                       time=indian_time(locked.retry_at)))
            return render("auth/login.html", form=form), 429
        except services.AuthError as refusal:
            form.password.errors.append(str(refusal))
        else:
            sign_ins.record(user, client_ip(), request.user_agent.string)
            start_session(user)
            response = redirect(safe_next(request.args.get("next")) or home_url())
            devices.remember(response, user.id)
            return response
    return render("auth/login.html", form=form), 200 if not form.errors else 422


SIGN_UP_KEY = "sign_up"  # the PendingSignUp this browser started


@bp.route("/register", methods=["GET", "POST"])
@public
def register():
    """The same answer whether or not the number is registered (services.start_sign_up)."""
    if current_user.is_authenticated:
        return redirect(home_url())
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            pending = services.start_sign_up(form.name.data, form.mobile.data, form.password.data,
                                             str(get_locale()), client_ip(), request.url_root)
        except services.LoginLocked as locked:
            form.mobile.errors.append(_("Too many sign-ups from this network. Try again after %(time)s.",
                                        time=indian_time(locked.retry_at)))
            return render("auth/register.html", form=form), 429
        session[SIGN_UP_KEY] = pending.id
        return redirect(url_for("auth.confirm_sign_up"))
    return render("auth/register.html", form=form), 200 if not form.errors else 422


def _confirm_sign_up_page(pending, form: CodeForm, status: int = 200):
    resend_at = services.sign_up_resend_at(pending)
    return render("auth/confirm_sign_up.html", form=form, contact=hint_mobile(pending.mobile),
                  minutes=codes.ttl_minutes(), resend_at=indian_time(resend_at) if resend_at else None), status


def _open_sign_up():
    """This browser's sign-up, or None (then the caller sends the person back to the form)."""
    pending = services.live_sign_up(session.get(SIGN_UP_KEY))
    if pending is None:
        session.pop(SIGN_UP_KEY, None)
        flash(_("Your sign-up has expired or was completed. Fill in the form again, or sign in."), "info")
    return pending


@bp.route("/register/confirm", methods=["GET", "POST"])
@public
def confirm_sign_up():
    """The code sent to the number makes the account and signs in."""
    if current_user.is_authenticated:
        return redirect(home_url())
    pending = _open_sign_up()
    if pending is None:
        return redirect(url_for("auth.register"))
    form = CodeForm()
    if form.validate_on_submit():
        try:
            user = services.complete_sign_up(pending.id, form.code.data, client_ip())
        except services.LoginLocked as locked:
            form.code.errors.append(_("Too many wrong codes. Try again after %(time)s.",
                                      time=indian_time(locked.retry_at)))
            return _confirm_sign_up_page(pending, form, 429)
        except services.AuthError as refusal:
            form.code.errors.append(str(refusal))
        else:
            sign_ins.record(user, client_ip(), request.user_agent.string)
            start_session(user)  # a fresh session: the sign-up's key goes with the old one
            flash(_("Welcome, %(name)s. Now link your electricity connection.", name=user.name), "success")
            response = redirect(url_for("accounts.link"))
            devices.remember(response, user.id)
            return response
    return _confirm_sign_up_page(pending, form, 200 if not form.errors else 422)


@bp.route("/register/resend", methods=["POST"])
@public
def resend_sign_up_code():
    pending = _open_sign_up()
    if pending is None:
        return redirect(url_for("auth.register"))
    try:
        services.resend_sign_up_code(pending, request.url_root)
    except codes.TooSoon as wait:
        flash(_("You can ask for a new code after %(time)s.", time=indian_time(wait.retry_at)), "error")
    else:
        flash(_("A new code is on its way. The earlier one no longer works."), "info")
    return redirect(url_for("auth.confirm_sign_up"))


@bp.route("/privacy")
@public
def privacy_notice():
    return render("auth/privacy.html", **privacy_notice_context())


def privacy_notice_context() -> dict:
    config = current_app.config
    return {"version": privacy.current_version(), "hindi": str(get_locale()).startswith("hi"),
            "officer": {"name": config["GRIEVANCE_OFFICER_NAME"], "email": config["GRIEVANCE_OFFICER_EMAIL"],
                        "phone": config["GRIEVANCE_OFFICER_PHONE"]},
            "keep": {name: period.days for name, period in config["KEEP"].items()},
            "utility": config["UTILITY_NAME"]}


@bp.route("/privacy/accept", methods=["GET", "POST"])
@customer_only
@privacy_not_needed
def accept_privacy():
    """A customer whose consent is to an older notice accepts the current one before going on (access.py)."""
    if privacy.has_accepted_current(current_user):
        return redirect(home_url())
    form = AcceptPrivacyForm()
    if form.validate_on_submit():
        privacy.record_consent(current_user)
        audit.record("user.privacy_accepted", current_user, {"version": privacy.current_version()})
        flash(_("Thank you. You can go on using the app."), "success")
        return redirect(home_url())
    return render("auth/accept_privacy.html", form=form, **privacy_notice_context())


def _verify_page(form: CodeForm, status: int = 200):
    user = current_user
    resend_at = codes.next_send_at(user, Purpose.VERIFY, "mobile" if user.mobile else "email")
    return render("auth/verify.html", form=form,
                  contact=hint_mobile(user.mobile) if user.mobile else hint_email(user.email),
                  sent=codes.live_code(user, Purpose.VERIFY, "mobile" if user.mobile else "email") is not None,
                  resend_at=indian_time(resend_at) if resend_at else None,
                  minutes=codes.ttl_minutes()), status


@bp.route("/verify", methods=["GET", "POST"])
@customer_only
@unverified_ok
def verify():
    """A new customer types the code sent to their mobile number (or email): until then they can do nothing else."""
    if current_user.is_verified:
        return redirect(home_url())
    form = CodeForm()
    if form.validate_on_submit():
        try:
            services.verify_contact(current_user, form.code.data, client_ip())
        except services.LoginLocked as locked:
            form.code.errors.append(_("Too many wrong codes. Try again after %(time)s.",
                                      time=indian_time(locked.retry_at)))
            return _verify_page(form, 429)
        except services.AuthError as refusal:
            form.code.errors.append(str(refusal))
        else:
            flash(_("Welcome, %(name)s. Now link your electricity connection.", name=current_user.name), "success")
            return redirect(url_for("accounts.link"))
    return _verify_page(form, 200 if not form.errors else 422)


@bp.route("/verify/resend", methods=["POST"])
@customer_only
@unverified_ok
def verify_resend():
    if current_user.is_verified:
        return redirect(home_url())
    try:
        services.send_verification_code(current_user)
    except codes.TooSoon as wait:
        flash(_("You can ask for a new code after %(time)s.", time=indian_time(wait.retry_at)), "error")
    else:
        flash(_("A new code is on its way. The earlier one no longer works."), "info")
    return redirect(url_for("auth.verify"))


@bp.route("/logout", methods=["POST"])
@signed_in
@unverified_ok
def logout():
    # Ends this user's sessions everywhere: a copied cookie stops working too.
    current_user.session_version += 1
    language = current_user.locale
    user_signed_out.send(current_user._get_current_object(), form=request.form)
    logout_user()
    session.clear()
    session["locale"] = language  # the sign-in page stays in the user's language
    response = redirect(url_for("auth.login"))
    # The browser drops its HTTP cache of this user's pages.
    response.headers["Clear-Site-Data"] = '"cache"'
    return response


@bp.route("/password", methods=["GET", "POST"])
@signed_in
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            services.change_password(current_user, form.current.data, form.password.data)
        except services.LoginLocked as locked:
            form.current.errors.append(_("Too many failed attempts. Try again after %(time)s.",
                                         time=indian_time(locked.retry_at)))
            return render("auth/change_password.html", form=form), 429
        except services.AuthError as refusal:
            form.current.errors.append(str(refusal))
        else:
            start_session(current_user._get_current_object())
            flash(_("Your password is changed. Other devices have been signed out."), "success")
            return redirect(home_url())
    return render("auth/change_password.html", form=form), 200 if not form.errors else 422


@bp.route("/forgot", methods=["GET", "POST"])
@public
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        try:
            services.request_password_reset(form.login.data, client_ip(), request.url_root)
        except services.LoginLocked as locked:
            form.login.errors.append(_("Too many requests. Try again after %(time)s.",
                                       time=indian_time(locked.retry_at)))
            return render("auth/forgot.html", form=form), 429
        flash(_("If that number or email is registered, a reset link is on its way. "
                "It works once, for %(minutes)d minutes.",
                minutes=int(current_app.config["PASSWORD_RESET_TTL"].total_seconds() // 60)), "info")
        return redirect(url_for("auth.login"))
    return render("auth/forgot.html", form=form), 200 if not form.errors else 422


@bp.route("/reset", methods=["GET", "POST"])
@public
def reset_password():
    # The token rides in the query string, which the access log leaves out (gunicorn.conf.py).
    token = request.args.get("token", "")
    if not token or len(token) > 100:
        abort(404)
    form = ResetPasswordForm()
    if request.method == "GET" and not services.reset_token_is_usable(token):
        flash(_("This reset link has expired or was already used. Ask for a new one."), "error")
        return redirect(url_for("auth.forgot_password"))
    if form.validate_on_submit():
        try:
            user = services.reset_password(token, form.password.data)
        except services.AuthError as refusal:
            db.session.rollback()
            flash(str(refusal), "error")
            return redirect(url_for("auth.forgot_password"))
        flash(_("Your password is changed. Sign in with the new one."), "success")
        response = redirect(url_for("auth.login"))
        # The reset link proved this phone is the owner's: a guesser's lock on new devices does not stop it.
        devices.remember(response, user.id)
        return response
    return render("auth/reset.html", form=form), 200 if not form.errors else 422
