from flask import Blueprint, abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.accounts import services
from app.accounts.forms import LinkForm
from app.accounts.models import LinkFactor
from app.accounts.selection import select_account, selected_account
from app.auth.access import customer_only, signed_in
from app.auth.contacts import mask_mobile
from app.billing import ledger
from app.billing.bills import bill_status, latest_bills
from app.db import today_in_india
from app.extensions import db
from app.web.templating import render

bp = Blueprint("accounts", __name__)


@bp.route("/")
@signed_in
def home():
    if current_user.is_staff:
        return redirect(url_for("web.staff_home"))
    accounts = services.linked_accounts(current_user)
    if not accounts:
        return redirect(url_for("accounts.link"))
    account = selected_account(accounts)
    bills = latest_bills(account.id, limit=1)
    latest = bills[0] if bills else None
    status = bill_status(latest, ledger.balance(account.id), today_in_india()) if latest else None
    return render("accounts/home.html", account=account, accounts=accounts, latest_bill=latest, status=status)


@bp.route("/connections")
@customer_only
def connections():
    accounts = services.linked_accounts(current_user)
    return render("accounts/connections.html", accounts=accounts, selected=selected_account(accounts),
                  mask_mobile=mask_mobile)


@bp.route("/connections/link", methods=["GET", "POST"])
@customer_only
def link():
    form = LinkForm()
    if form.validate_on_submit():
        try:
            link = services.link_account(current_user, form.consumer_number.data,
                                         LinkFactor(form.factor.data), form.answer.data)
        except services.LinkError as refusal:
            db.session.commit()  # the failed attempt must be counted
            form.answer.errors.append(str(refusal))
        else:
            db.session.commit()
            select_account(link.account_id)
            flash(_("Connection %(number)s is linked.", number=link.account.consumer_number), "success")
            return redirect(url_for("accounts.home"))
    return render("accounts/link.html", form=form), 200 if not form.errors else 422


@bp.route("/connections/<int:account_id>/select", methods=["POST"])
@customer_only
def select(account_id: int):
    if not select_account(account_id):
        abort(404)
    return redirect(url_for("accounts.home"))


@bp.route("/connections/<int:account_id>/unlink", methods=["POST"])
@customer_only
def unlink(account_id: int):
    if not services.unlink_account(current_user, account_id):
        abort(404)
    db.session.commit()
    flash(_("The connection is removed from your list. Its bills are not affected."), "info")
    return redirect(url_for("accounts.connections"))
