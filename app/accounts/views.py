from flask import Blueprint, abort, current_app, flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, logout_user

from app import audit
from app.accounts import services
from app.accounts.forms import BillAmountForm, EraseForm, LanguageForm, LinkForm, NicknameForm, PaperlessForm
from app.accounts.models import Account
from app.accounts.selection import select_account, selected_account
from app.auth import codes
from app.auth.access import customer_only, privacy_not_needed, public
from app.auth.codes import Purpose
from app.auth.contacts import hint_mobile, mask_mobile
from app.auth.forms import CodeForm
from app.auth.services import AuthError, erase_user
from app.auth.views import client_ip, safe_next
from app.extensions import db
from app.i18n import indian_time
from app.web.templating import render

bp = Blueprint("accounts", __name__)


@bp.app_context_processor
def switcher_names():
    """The connection switcher (on several pages) names connections as the customer does."""
    return {"connection_names": lambda: services.connection_names(current_user)}


@bp.route("/connections")
@customer_only
def connections():
    accounts = services.linked_accounts(current_user)
    names = services.connection_names(current_user)
    return render("accounts/connections.html", accounts=accounts, selected=selected_account(accounts),
                  mask_mobile=mask_mobile, names=names, pending=services.pending_requests(current_user),
                  name_forms={a.id: NicknameForm(nickname=names[a.id] if names[a.id] != a.holder_name else "")
                              for a in accounts})


LINKING = "linking"  # the session remembers which connection the customer is linking, between the steps


def _linked(account_id: int):
    session.pop(LINKING, None)
    select_account(account_id)
    return redirect(url_for("portal.home"))


@bp.route("/connections/link", methods=["GET", "POST"])
@customer_only
def link():
    """Step 1: the consumer number. Then a code to the registered mobile, or the bill amount and staff approval."""
    form = LinkForm()
    if form.validate_on_submit():
        try:
            start = services.start_link(current_user, form.consumer_number.data, client_ip())
        except services.LinkThrottled as refusal:
            form.consumer_number.errors.append(str(refusal))
            return render("accounts/link.html", form=form, pending=services.pending_requests(current_user)), 429
        except services.LinkError as refusal:
            form.consumer_number.errors.append(str(refusal))
        else:
            if start.step is services.NextStep.LINKED:
                flash(_("Connection %(number)s is already linked.", number=start.account.consumer_number), "info")
                return _linked(start.account.id)
            session[LINKING] = start.account.id
            return redirect(url_for("accounts.link_code" if start.step is services.NextStep.CODE
                                    else "accounts.link_bill"))
    return render("accounts/link.html", form=form, pending=services.pending_requests(current_user)), \
        200 if not form.errors else 422


def _linking_account(with_mobile: bool) -> Account | None:
    """The connection this customer is linking (from step 1), if the step asked for fits it."""
    account = db.session.get(Account, session.get(LINKING) or 0)
    if account is None or bool(account.registered_mobile) is not with_mobile:
        return None
    return account


def _code_page(account: Account, form: CodeForm, status: int = 200):
    resend_at = codes.next_send_at(current_user, Purpose.LINK, str(account.id))
    return render("accounts/link_code.html", form=form, account=account,
                  mobile_hint=hint_mobile(account.registered_mobile),
                  resend_at=indian_time(resend_at) if resend_at else None,
                  minutes=codes.ttl_minutes(),
                  helpline=current_app.config["UTILITY_HELPLINE"]), status


@bp.route("/connections/link/code", methods=["GET", "POST"])
@customer_only
def link_code():
    """Step 2: the code sent to the connection's registered mobile number."""
    account = _linking_account(with_mobile=True)
    if account is None:
        return redirect(url_for("accounts.link"))
    if services.find_link(current_user, account.id):
        return _linked(account.id)
    form = CodeForm()
    if form.validate_on_submit():
        try:
            link = services.confirm_link(current_user, account, form.code.data, client_ip())
        except services.LinkThrottled as refusal:
            form.code.errors.append(str(refusal))
            return _code_page(account, form, 429)
        except services.LinkError as refusal:
            form.code.errors.append(str(refusal))
        else:
            flash(_("Connection %(number)s is linked.", number=link.account.consumer_number), "success")
            return _linked(account.id)
    return _code_page(account, form, 200 if not form.errors else 422)


@bp.route("/connections/link/code/resend", methods=["POST"])
@customer_only
def link_code_resend():
    account = _linking_account(with_mobile=True)
    if account is None:
        return redirect(url_for("accounts.link"))
    try:
        services.send_link_code(current_user, account)
    except codes.TooSoon as wait:
        flash(_("You can ask for a new code after %(time)s.", time=indian_time(wait.retry_at)), "error")
    else:
        flash(_("A new code is on its way. The earlier one no longer works."), "info")
    return redirect(url_for("accounts.link_code"))


@bp.route("/connections/link/bill", methods=["GET", "POST"])
@customer_only
def link_bill():
    """Step 2 for a connection with no registered mobile: the latest bill's amount, then staff approve."""
    account = _linking_account(with_mobile=False)
    if account is None:
        return redirect(url_for("accounts.link"))
    form = BillAmountForm()
    status = 200
    if form.validate_on_submit():
        try:
            services.request_link_by_bill(current_user, account, form.amount.data, client_ip())
        except services.LinkError as refusal:
            form.amount.errors.append(str(refusal))
            status = 429 if isinstance(refusal, services.LinkThrottled) else 422
        else:
            session.pop(LINKING, None)
            flash(_("Request sent. Our staff will check it, usually within two working days; we will send you a "
                    "message then."), "success")
            return redirect(url_for("accounts.connections"))
    elif form.errors:
        status = 422
    return render("accounts/link_bill.html", form=form, account=account), status


@bp.route("/connections/<int:account_id>/select", methods=["POST"])
@customer_only
def select(account_id: int):
    if not select_account(account_id):
        abort(404)
    return redirect(safe_next(request.form.get("next")) or url_for("portal.home"))  # back to the page it was on


@bp.route("/connections/<int:account_id>/name", methods=["POST"])
@customer_only
def name(account_id: int):
    form = NicknameForm()
    if not form.validate_on_submit():
        flash(_("Use at most %(max)d characters.", max=services.NICKNAME_LENGTH), "error")
    elif not services.name_connection(current_user, account_id, form.nickname.data or ""):
        abort(404)
    return redirect(url_for("accounts.connections"))


@bp.route("/connections/<int:account_id>/unlink", methods=["POST"])
@customer_only
def unlink(account_id: int):
    if not services.unlink_account(current_user, account_id):
        abort(404)
    flash(_("The connection is removed from your list. Its bills are not affected."), "info")
    return redirect(url_for("accounts.connections"))


@bp.route("/profile")
@customer_only
def profile():
    account = selected_account()
    return render("accounts/profile.html", account=account,
                  language_form=LanguageForm(language=current_user.locale),
                  paperless_form=PaperlessForm(paperless=account.paperless if account else False),
                  erase_form=EraseForm())


@bp.route("/language", methods=["POST"])
@public
def language():
    """Anyone may switch language; a signed-in user's choice is remembered on their account."""
    form = LanguageForm()
    if form.validate_on_submit():
        if current_user.is_authenticated:
            current_user.locale = form.language.data
        else:
            session["locale_picked"] = True  # signing in keeps it on the account
        session["locale"] = form.language.data
    return redirect(safe_next(request.form.get("next")) or url_for("portal.home"))


@bp.route("/profile/paperless", methods=["POST"])
@customer_only
def paperless():
    account = selected_account()
    form = PaperlessForm()
    if account is None or not form.validate_on_submit():
        abort(404)
    account.paperless = form.paperless.data
    audit.record("account.paperless", account, {"paperless": account.paperless})
    flash(_("Paperless bills are on.") if account.paperless else _("You will get printed bills again."), "success")
    return redirect(url_for("accounts.profile"))


@bp.route("/profile/erase", methods=["POST"])
@customer_only
@privacy_not_needed  # refusing a new notice, a customer may still erase their account
def erase():
    form = EraseForm()
    if form.validate_on_submit():
        try:
            erase_user(current_user._get_current_object(), form.password.data)
        except AuthError as refusal:
            form.password.errors.append(str(refusal))
        else:
            logout_user()
            session.clear()
            flash(_("Your account is erased. Thank you for using the app."), "info")
            return redirect(url_for("auth.login"))
    account = selected_account()
    return render("accounts/profile.html", account=account, language_form=LanguageForm(language=current_user.locale),
                  paperless_form=PaperlessForm(paperless=account.paperless if account else False),
                  erase_form=form), 422
