"""users: accounts, profiles, skills, login and the signing keys."""
from __future__ import annotations

from pathlib import Path

from services.users.accounts import is_suspended
from services.users.api import auth, users
from services.users.models import Base, LoginFailure
from services.users.settings import UsersSettings
from shared.config import Settings
from shared.prune import Retention
from shared.service import Service


def ensure_admin_from_env(runtime) -> None:
    settings = runtime.service_settings
    if settings.admin_email and settings.admin_password:
        from services.users.accounts import ensure_admin

        with runtime.unit_of_work() as uow:
            ensure_admin(uow, email=settings.admin_email, password=settings.admin_password)


def retention(settings: UsersSettings) -> list[Retention]:
    """The worker prunes failed logins older than LOGIN_FAILURE_RETENTION."""
    return [Retention("login_failures", LoginFailure.id, LoginFailure.at, settings.login_failure_retention)]


SERVICE = Service(
    name="users", metadata=Base.metadata, migrations=Path(__file__).parent / "migrations",
    blueprints=(users, auth), on_start=ensure_admin_from_env,
    settings=UsersSettings, retention=retention, suspended=is_suspended,
    title="Accounts, profiles, skills, login; issues the JWTs every service verifies.",
)


def create_app(config: Settings | None = None, **kwargs):
    from shared.http import create_app as build

    return build(SERVICE, config, **kwargs)
