from flask import Blueprint, abort, flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, logout_user

from app import audit
from app.accounts import services
from app.accounts.forms import EraseForm, LanguageForm, LinkForm, NicknameForm, PaperlessForm
from app.accounts.models import LinkFactor
from app.accounts.selection import select_account, selected_account
from app.auth.access import customer_only, public
from app.auth.contacts import mask_mobile
from app.auth.services import AuthError, erase_user
from app.auth.views import safe_next
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
                  mask_mobile=mask_mobile, names=names,
                  name_forms={a.id: NicknameForm(nickname=names[a.id] if names[a.id] != a.holder_name else "")
                              for a in accounts})


@bp.route("/connections/link", methods=["GET", "POST"])
@customer_only
def link():
    form = LinkForm()
    if form.validate_on_submit():
        try:
            link = services.link_account(current_user, form.consumer_number.data,
                                         LinkFactor(form.factor.data), form.answer.data)
        except services.LinkError as refusal:
            form.answer.errors.append(str(refusal))
        else:
            select_account(link.account_id)
            flash(_("Connection %(number)s is linked.", number=link.account.consumer_number), "success")
            return redirect(url_for("portal.home"))
    return render("accounts/link.html", form=form), 200 if not form.errors else 422


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
