"""D-Tech: create_app() builds the Flask application from a short list of register_* steps."""

import importlib

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from app.web.ids import use_row_ids
from app.web.slow_clients import BodyReadLimits
from config import Config, config_from_env

DOMAIN_PACKAGES = ("messaging", "audit", "auth", "accounts", "metering", "billing", "payments", "notifications",
                   "support", "reports")
# Every module that defines tasks: imported by every app, so the consumer (which loads wsgi.huey) knows all of
# them and misses no periodic task.
TASK_MODULES = ("app.auth.tasks", "app.billing.tasks", "app.metering.tasks", "app.payments.tasks",
                "app.messaging.tasks", "app.notifications.tasks", "app.support.tasks", "app.reports.tasks")


def create_app(config: Config | None = None, **overrides) -> Flask:
    app = Flask(__name__, template_folder="../templates", static_folder="../static", instance_relative_config=True)
    app.config.from_object(config or config_from_env())
    app.config.update(overrides)

    app.wsgi_app = BodyReadLimits(app.wsgi_app, app.config["BODY_READ_TIMEOUT"], app.config["BODY_READ_DEADLINE"])
    if app.config.get("PROXY_HOPS"):
        # Behind a proxy, the client's address and scheme come from its headers (throttles count per client).
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=app.config["PROXY_HOPS"], x_proto=app.config["PROXY_HOPS"])
    register_logging(app)
    register_request_ids(app)
    register_extensions(app)
    check_messaging(app)
    register_models()
    register_tasks()
    register_signal_handlers()
    use_row_ids(app)  # before any route is added
    register_blueprints(app)
    register_commands(app)
    register_request_hooks(app)
    register_static_files(app)
    return app


def register_logging(app: Flask) -> None:
    """JSON or text log lines with the request's id (app/web/logs.py); Sentry when SENTRY_DSN is set."""
    from app.web.error_reporting import init_error_reporting
    from app.web.logs import configure_logging

    configure_logging(app)
    init_error_reporting(app)


def register_request_ids(app: Flask) -> None:
    from app.web.observe import begin_request

    # The first before_request hook (before CSRF's): a request any later hook refuses still has its id.
    app.before_request(begin_request)


def register_extensions(app: Flask) -> None:
    from app.crypto import init_data_keys
    from app.extensions import babel, compress, csrf, db, login_manager, migrate
    from app.i18n import select_locale, select_timezone, warn_if_not_compiled
    from app.taskqueue import init_huey

    db.init_app(app)
    init_data_keys(app)
    migrate.init_app(app, db, directory=str(app.root_path + "/../migrations"))
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    warn_if_not_compiled(app.config["LANGUAGES"])
    login_manager.init_app(app)
    compress.init_app(app)  # its after_request is registered first, so it runs last, on the finished response
    init_huey(app)


def check_messaging(app: Flask) -> None:
    """Warn at start-up of message kinds the SMS provider would refuse (no DLT template configured)."""
    from app.messaging.sms import warn_about_templates

    warn_about_templates(app.config)


def register_tasks() -> None:
    for module in TASK_MODULES:
        importlib.import_module(module)


def register_models() -> None:
    """Import every domain's models so the metadata (and Alembic) knows the whole schema."""
    for package in DOMAIN_PACKAGES:
        importlib.import_module(f"app.{package}.models")


# The domains that subscribe to what lower ones announce (each has a subscribers.py with connect()).
SUBSCRIBING_PACKAGES = ("accounts", "metering", "billing", "payments", "notifications", "support")


def register_signal_handlers() -> None:
    """Higher domains hear lower ones through blinker signals (app/*/signals.py); connecting twice is harmless."""
    for package in SUBSCRIBING_PACKAGES:
        importlib.import_module(f"app.{package}.subscribers").connect()


def register_blueprints(app: Flask) -> None:
    from app.accounts.views import bp as accounts_bp
    from app.auth.views import bp as auth_bp
    from app.billing.views import bp as billing_bp
    from app.metering.views import bp as metering_bp
    from app.notifications.push_views import bp as push_bp
    from app.notifications.views import bp as notifications_bp
    from app.ops.views import bp as ops_bp
    from app.payments.sandbox_views import bp as sandbox_gateway_bp
    from app.payments.views import bp as payments_bp
    from app.portal.views import bp as portal_bp
    from app.pwa.views import bp as pwa_bp
    from app.staff.announcements import bp as staff_announcements_bp
    from app.staff.audit import bp as staff_audit_bp
    from app.staff.bill_runs import bp as staff_bill_runs_bp
    from app.staff.cash_books import bp as staff_cash_books_bp
    from app.staff.complaints import bp as staff_complaints_bp
    from app.staff.connections import bp as staff_connections_bp
    from app.staff.consumers import bp as staff_consumers_bp
    from app.staff.corrections import bp as staff_corrections_bp
    from app.staff.readings import bp as staff_readings_bp
    from app.staff.reconciliation import bp as staff_reconciliation_bp
    from app.staff.reports import bp as staff_reports_bp
    from app.staff.system import bp as staff_system_bp
    from app.staff.tariffs import bp as staff_tariffs_bp
    from app.staff.users import bp as staff_users_bp
    from app.staff.views import bp as staff_bp
    from app.support.views import bp as support_bp

    for blueprint in (auth_bp, accounts_bp, billing_bp, metering_bp, payments_bp, sandbox_gateway_bp, portal_bp,
                      staff_bp, staff_consumers_bp, staff_connections_bp, staff_readings_bp, staff_bill_runs_bp,
                      staff_tariffs_bp, staff_corrections_bp, staff_complaints_bp, staff_users_bp, staff_audit_bp,
                      staff_system_bp, staff_announcements_bp, staff_cash_books_bp, staff_reconciliation_bp,
                      staff_reports_bp, support_bp, pwa_bp, notifications_bp, push_bp, ops_bp):
        app.register_blueprint(blueprint)


def register_commands(app: Flask) -> None:
    from app.auth.cli import users_cli
    from app.backup import backup_command, restore_command
    from app.billing.cli import bills_cli, tariff_cli
    from app.crypto.cli import rotate_data_keys_command
    from app.demo.cli import demo_cli
    from app.jobs import jobs_cli
    from app.notifications.cli import announcements_cli, notifications_cli
    from app.notifications.push_cli import push_cli
    from app.payments.cli import payments_cli

    for group in (users_cli, tariff_cli, bills_cli, demo_cli, jobs_cli, payments_cli, notifications_cli,
                  announcements_cli, push_cli):
        app.cli.add_command(group)
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
    app.cli.add_command(rotate_data_keys_command)


def register_static_files(app: Flask) -> None:
    from app.web.static_files import serve_static_files

    serve_static_files(app)


def register_request_hooks(app: Flask) -> None:
    from app.auth.access import enforce_access, mark_public, may_open
    from app.auth.sessions import end_if_expired
    from app.web.errors import commit_request, register_error_handlers
    from app.web.headers import (
        add_security_headers,
        apply_upload_limit,
        begin_write_for_unsafe_methods,
        refuse_nul_bytes,
    )
    from app.web.observe import finish_request
    from app.web.templating import register_template_helpers

    # Static files are public: WhiteNoise serves them before any access rule runs (app/web/static_files.py), and
    # Flask's static view behind it, for a file WhiteNoise has not seen, is public too.
    mark_public(app.view_functions["static"])
    app.url_value_preprocessor(apply_upload_limit)  # before every before_request hook (CSRF reads the form)
    app.before_request(refuse_nul_bytes)
    app.before_request(begin_write_for_unsafe_methods)  # before anything reads, so writers queue, not fail
    app.before_request(end_if_expired)  # a session past its idle or absolute limit is signed out first
    app.before_request(enforce_access)
    app.jinja_env.globals["may_open"] = may_open
    app.after_request(finish_request)  # runs last (after_request hooks run in reverse): the final status
    app.after_request(add_security_headers)
    app.after_request(commit_request)  # runs before the headers hook: a failed commit still gets them
    register_error_handlers(app)
    register_template_helpers(app)
