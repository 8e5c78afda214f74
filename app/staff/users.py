"""Staff: people (head-office admins only). The staff list with each member's role, office and last sign-in; a
new staff member, who chooses their password through a one-time link; role and office changed; staff switched
off and on. Customers found by mobile number, email or name, locked and unlocked, with their recent sign-ins."""

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import or_, select
from wtforms.fields.choices import SelectChoice

from app.accounts.models import Account, AccountLink
from app.accounts.offices import regions
from app.auth import management, sign_ins
from app.auth.access import admin_only, head_office
from app.auth.contacts import normalise_email, normalise_mobile
from app.auth.forms import NewStaffForm, StaffRoleForm
from app.auth.models import Role, User
from app.extensions import db
from app.web.pagination import page_of
from app.web.templating import render

bp = Blueprint("staff_users", __name__)

PER_PAGE = 30
HEAD_OFFICE = ""  # the office choice "head office" (no office: every connection)


def _office_choices() -> list[SelectChoice]:
    return [SelectChoice(HEAD_OFFICE, _("Head office (every region)")),
            *(SelectChoice(name, name) for name in regions())]


def _with_offices(form):
    form.office.choices = _office_choices()
    return form


def _staff():
    return select(User).where(User.role != Role.CUSTOMER).order_by(User.active.desc(), User.name, User.id)


def customer_matches(query: str):
    """A customer by exact mobile number or email, or by part of the name. None when too short to look for."""
    text = " ".join(query.split())
    if len(text) < 2:
        return None
    conditions = [User.name.icontains(text, autoescape=True)]
    if normalise_mobile(text):
        conditions.append(User.mobile == normalise_mobile(text))
    if "@" in text and normalise_email(text):
        conditions.append(User.email == normalise_email(text))
    return or_(*conditions)


def _index_page(form: NewStaffForm, status: int = 200):
    query = request.args.get("q", "")[:120]
    condition = customer_matches(query)
    customers = None
    if condition is not None:
        customers = list(db.session.scalars(select(User).where(User.role == Role.CUSTOMER, condition)
                                            .order_by(User.name, User.id).limit(PER_PAGE + 1)))
    return render("staff/users.html", staff=page_of(_staff(), PER_PAGE), form=form, query=query,
                  customers=customers, per_page=PER_PAGE), status


@bp.route("/staff/users")
@admin_only
@head_office
def index():
    return _index_page(_with_offices(NewStaffForm(formdata=None)))


@bp.route("/staff/users", methods=["POST"])
@admin_only
@head_office
def create():
    form = _with_offices(NewStaffForm())
    if form.validate_on_submit():
        try:
            user = management.invite_staff(current_user, form.name.data, Role(form.role.data),
                                           form.office.data or None, email=form.email.data or None,
                                           mobile=form.mobile.data or None)
        except management.ManagementRefused as refusal:
            form.email.errors.append(str(refusal))
        else:
            flash(_("%(name)s can now choose a password through the link sent to %(contact)s.",
                    name=user.name, contact=user.email or user.mobile), "success")
            return redirect(url_for("staff_users.person", user_id=user.id), 303)
    return _index_page(form, 422)


def _person(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    return user


@bp.route("/staff/users/<int:user_id>")
@admin_only
@head_office
def person(user_id: int):
    user = _person(user_id)
    form = _with_offices(StaffRoleForm(formdata=None, role=user.role.value, office=user.office or HEAD_OFFICE))
    connections = list(db.session.scalars(select(Account).join(AccountLink, AccountLink.account_id == Account.id)
                                          .where(AccountLink.user_id == user.id).order_by(Account.consumer_number)))
    return render("staff/user.html", person=user, form=form, sign_ins=sign_ins.recent(user.id),
                  connections=connections)


@bp.route("/staff/users/<int:user_id>/role", methods=["POST"])
@admin_only
@head_office
def change_role(user_id: int):
    user = _person(user_id)
    form = _with_offices(StaffRoleForm())
    if not form.validate_on_submit():
        flash(_("This form has expired. Please reload the page and try again."), "error")
    else:
        try:
            changed = management.change_role_and_office(current_user, user, Role(form.role.data),
                                                        form.office.data or None)
        except management.ManagementRefused as refusal:
            flash(str(refusal), "error")
        else:
            if changed:
                flash(_("%(name)s's role and office are changed.", name=user.name), "success")
    return redirect(url_for("staff_users.person", user_id=user.id), 303)


def _set_active(user_id: int, active: bool):
    user = _person(user_id)
    try:
        changed = management.set_active(current_user, user, active)
    except management.ManagementRefused as refusal:
        flash(str(refusal), "error")
    else:
        if changed and user.is_staff:
            flash(_("%(name)s can sign in again.", name=user.name) if active
                  else _("%(name)s is switched off and signed out everywhere.", name=user.name), "success")
        elif changed:
            flash(_("%(name)s's account is unlocked.", name=user.name) if active
                  else _("%(name)s's account is locked and signed out everywhere.", name=user.name), "success")
    return redirect(url_for("staff_users.person", user_id=user.id), 303)


@bp.route("/staff/users/<int:user_id>/deactivate", methods=["POST"])
@admin_only
@head_office
def deactivate(user_id: int):
    return _set_active(user_id, False)


@bp.route("/staff/users/<int:user_id>/activate", methods=["POST"])
@admin_only
@head_office
def activate(user_id: int):
    return _set_active(user_id, True)


@bp.route("/staff/users/<int:user_id>/password-link", methods=["POST"])
@admin_only
@head_office
def send_password_link(user_id: int):
    """A new link for a staff member whose first one expired (or who forgot their password)."""
    user = _person(user_id)
    if not user.is_staff or not user.active:
        abort(404)
    management.send_first_password_link(current_user, user)
    flash(_("A new link to choose a password is on its way to %(contact)s.", contact=user.email or user.mobile),
          "success")
    return redirect(url_for("staff_users.person", user_id=user.id), 303)
