"""User accounts as the administrators keep them: create, edit, roles per Ambito,
deactivate and reactivate, reset passwords. Every change is in the operation log.

Deactivating someone ends her sessions at once (her API tokens stop working with her
account) and gives the tasks she had taken back to her team, through the engine, so
nothing waits for a person who is gone; the caller lists them in the confirmation.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field

from sqlalchemy import Select, delete, exists, func, or_, select
from sqlalchemy.orm import Session

from engine.access.accounts import check_grant, create_user, set_password
from engine.access.matrix import Action, require
from engine.access.passwords import password_problems
from engine.access.roles import BY_CODE, Actor, Grant, role_label
from engine.access.totp import has_second_factor, reset_second_factor
from engine.admin.common import Errors
from engine.audit import CHANGED, record
from engine.errors import Conflict, FormInvalid, NotFound
from engine.models import ApiToken, AppUser, HumanTask, UserRole, WebSession
from engine.tasks import release_task

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,99}$")
LOCALES = {"it": "Italiano", "en": "English"}
ADMIN_ROLE = "amministratore"
USER_NOT_FOUND = "Utente non trovato."
# Letters and digits that cannot be mistaken for one another when read aloud or copied.
_ALPHABET = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def generate_password(length: int = 16) -> str:
    """A random one-time password, shown once to the administrator."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


@dataclass
class UserFilter:
    """Filters of the user list (all optional)."""

    text: str | None = None
    ambito: str | None = None
    role: str | None = None
    active: bool | None = None


@dataclass
class UserRow:
    """A user with her roles, as lists and pages show her."""

    user: AppUser
    grants: list[UserRole] = field(default_factory=list)

    @property
    def grant_labels(self) -> list[str]:
        return [f"{role_label(g.role)}{f' · {g.ambito_code}' if g.ambito_code else ''}" for g in self.grants]


@dataclass
class UserDetail(UserRow):
    """A user's page: roles, open sessions, active API tokens and the tasks she has taken."""

    sessions: int = 0
    tokens: int = 0
    claimed: list[HumanTask] = field(default_factory=list)


@dataclass
class Deactivation:
    """What deactivating a user did: sessions ended and tasks given back to the team."""

    user: AppUser
    sessions_ended: int
    released: list[HumanTask]


def _grants(session: Session, user_ids: list[int]) -> dict[int, list[UserRole]]:
    found: dict[int, list[UserRole]] = {uid: [] for uid in user_ids}
    if user_ids:
        rows = session.scalars(
            select(UserRole).where(UserRole.user_id.in_(user_ids)).order_by(UserRole.ambito_code, UserRole.role)
        )
        for row in rows:
            found[row.user_id].append(row)
    return found


def _filtered(flt: UserFilter) -> Select[AppUser]:
    query = select(AppUser)
    if flt.text:
        like = f"%{flt.text.lower()}%"
        query = query.where(
            or_(
                func.lower(AppUser.username).like(like),
                func.lower(AppUser.full_name).like(like),
                func.lower(AppUser.email).like(like),
            )
        )
    if flt.ambito or flt.role:
        held = select(UserRole.id).where(UserRole.user_id == AppUser.id)
        if flt.ambito:
            held = held.where(UserRole.ambito_code == flt.ambito)
        if flt.role:
            held = held.where(UserRole.role == flt.role)
        query = query.where(exists(held))
    if flt.active is not None:
        query = query.where(AppUser.is_active.is_(flt.active))
    return query


def list_users(
    session: Session, actor: Actor, flt: UserFilter | None = None, limit: int = 25, offset: int = 0
) -> tuple[list[UserRow], int]:
    """A page of users by username, with their roles, and the total."""
    require(actor, Action.ADMIN_USERS)
    query = _filtered(flt or UserFilter())
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    users = list(session.scalars(query.order_by(AppUser.username).limit(limit).offset(offset)))
    grants = _grants(session, [u.id for u in users])
    return [UserRow(u, grants[u.id]) for u in users], total


def _user(session: Session, actor: Actor, user_id: int) -> AppUser:
    require(actor, Action.ADMIN_USERS)
    user = session.get(AppUser, user_id)
    if user is None:
        raise NotFound(USER_NOT_FOUND)
    return user


def _claimed(session: Session, username: str) -> list[HumanTask]:
    return list(session.scalars(select(HumanTask).where(HumanTask.assignee == username).order_by(HumanTask.case_code)))


def user_detail(session: Session, actor: Actor, user_id: int) -> UserDetail:
    """A user with her roles, sessions, tokens and claimed tasks."""
    user = _user(session, actor, user_id)
    sessions = session.scalar(select(func.count()).select_from(WebSession).where(WebSession.user_id == user.id))
    tokens = session.scalar(
        select(func.count()).select_from(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
    )
    return UserDetail(
        user,
        _grants(session, [user.id])[user.id],
        sessions=sessions or 0,
        tokens=tokens or 0,
        claimed=_claimed(session, user.username),
    )


def _grant_text(role: str, ambito: str | None) -> str:
    return f"{role_label(role)} ({ambito})" if ambito else f"{role_label(role)} (regionale)"


def _check_grants(session: Session, grants: list[Grant], errors: Errors) -> list[Grant]:
    clean: list[Grant] = []
    for index, (role, ambito) in enumerate(grants):
        try:
            check_grant(session, role, ambito)
        except (Conflict, NotFound) as exc:
            errors.add(f"ruoli[{index}]", exc.message)
            continue
        if (role, ambito) not in clean:
            clean.append((role, ambito))
    return clean


def add_user(
    session: Session,
    actor: Actor,
    username: str,
    full_name: str,
    grants: list[Grant],
    email: str | None = None,
    password: str | None = None,
    locale: str = "it",
) -> tuple[AppUser, str | None]:
    """Create an account with its roles. With `password` None one is generated and returned
    (to be shown once), and she must choose her own at first login."""
    require(actor, Action.ADMIN_USERS)
    errors = Errors()
    username = (username or "").strip().lower()
    if not USERNAME.match(username):
        errors.add("username", "Nome utente non valido: da 2 a 100 tra lettere minuscole, cifre, punto, - e _.")
    elif session.scalar(select(AppUser.id).where(AppUser.username == username)) is not None:
        errors.add("username", f"L'utente «{username}» esiste già.")
    name = errors.text("full_name", full_name, "Nome e cognome", 200, required=True)
    mail = errors.email("email", email)
    if locale not in LOCALES:
        errors.add("locale", "Lingua non disponibile.")
    for problem in password_problems(password, username) if password is not None else []:
        errors.add("password", problem)
    if not grants:
        errors.add("ruoli", "Assegnare almeno un ruolo.")
    clean = _check_grants(session, grants, errors)
    errors.raise_if_any()
    generated = generate_password() if password is None else None
    user = create_user(session, username, name or "", password or generated or "", clean, mail, locale)
    user.must_change_password = generated is not None
    session.flush()
    # The log row names an Ambito when every role she gets is in the same one.
    places = {a for _, a in clean}
    only_ambito = next(iter(places)) if len(places) == 1 else None
    record(
        session,
        actor,
        "user.created",
        f"Creato l'utente {username} ({name}) con i ruoli: {', '.join(_grant_text(r, a) for r, a in clean)}.",
        "user",
        username,
        ambito=only_ambito,
        after={
            "full_name": user.full_name,
            "email": user.email,
            "locale": user.locale,
            "ruoli": [f"{r}@{a}" if a else r for r, a in clean],
            "password": CHANGED,
        },
    )
    return user, generated


def update_user(
    session: Session, actor: Actor, user_id: int, full_name: str, email: str | None, locale: str
) -> AppUser:
    """Change a user's name, email and language."""
    user = _user(session, actor, user_id)
    errors = Errors()
    name = errors.text("full_name", full_name, "Nome e cognome", 200, required=True)
    mail = errors.email("email", email)
    if locale not in LOCALES:
        errors.add("locale", "Lingua non disponibile.")
    errors.raise_if_any()
    before = {"full_name": user.full_name, "email": user.email, "locale": user.locale}
    after = {"full_name": name, "email": mail, "locale": locale}
    keys = [k for k in after if before[k] != after[k]]
    if not keys:
        return user
    user.full_name, user.email, user.locale = name or "", mail, locale
    session.flush()
    record(
        session,
        actor,
        "user.updated",
        f"Modificato l'utente {user.username}: {', '.join(keys)}.",
        "user",
        user.username,
        before={k: before[k] for k in keys},
        after={k: after[k] for k in keys},
    )
    return user


def grant_user_role(session: Session, actor: Actor, user_id: int, role: str, ambito: str | None) -> UserRole:
    """Give a user a role in an Ambito (or regionally, for the regional roles)."""
    user = _user(session, actor, user_id)
    ambito = ambito or None
    try:
        check_grant(session, role, ambito)
    except (Conflict, NotFound) as exc:
        raise FormInvalid(exc.message, {"ruolo": [exc.message]}) from exc
    held = session.scalar(
        select(UserRole).where(
            UserRole.user_id == user.id,
            UserRole.role == role,
            UserRole.ambito_code.is_(None) if ambito is None else UserRole.ambito_code == ambito,
        )
    )
    if held is not None:
        message = f"{user.username} ha già il ruolo {_grant_text(role, ambito)}."
        raise FormInvalid(message, {"ruolo": [message]})
    grant = UserRole(user_id=user.id, role=role, ambito_code=ambito)
    session.add(grant)
    session.flush()
    record(
        session,
        actor,
        "role.granted",
        f"Assegnato a {user.username} il ruolo {_grant_text(role, ambito)}.",
        "user",
        user.username,
        ambito,
        after={"ruolo": role, "ambito": ambito},
    )
    return grant


def revoke_user_role(session: Session, actor: Actor, user_id: int, grant_id: int) -> UserRole:
    """Take a role away from a user (an administrator may not remove her own last administrator role)."""
    user = _user(session, actor, user_id)
    grant = session.get(UserRole, grant_id)
    if grant is None or grant.user_id != user.id:
        raise NotFound("Ruolo non trovato.")
    if user.username == actor.username and grant.role == ADMIN_ROLE:
        admin_roles = session.scalar(
            select(func.count()).select_from(UserRole).where(UserRole.user_id == user.id, UserRole.role == ADMIN_ROLE)
        )
        if (admin_roles or 0) <= 1:
            raise Conflict(
                "Non puoi togliere a te stessa l'unico ruolo di amministratore: "
                "chiedi a un'altra persona amministratrice di farlo."
            )
    role, ambito = grant.role, grant.ambito_code
    session.delete(grant)
    session.flush()
    record(
        session,
        actor,
        "role.revoked",
        f"Revocato a {user.username} il ruolo {_grant_text(role, ambito)}.",
        "user",
        user.username,
        ambito,
        before={"ruolo": role, "ambito": ambito},
    )
    return grant


def deactivation_preview(session: Session, actor: Actor, user_id: int) -> UserDetail:
    """What deactivating a user will do (her sessions and claimed tasks), before doing it."""
    detail = user_detail(session, actor, user_id)
    if detail.user.username == actor.username:
        raise Conflict("Non puoi disattivare il tuo stesso account.")
    return detail


def deactivate_user(session: Session, actor: Actor, user_id: int) -> Deactivation:
    """Disable an account: she can no longer log in, her sessions end, her API tokens stop
    working, and the tasks she had taken go back to her team (recorded in each case's history)."""
    user = _user(session, actor, user_id)
    if user.username == actor.username:
        raise Conflict("Non puoi disattivare il tuo stesso account.")
    if not user.is_active:
        return Deactivation(user, 0, [])
    claimed = _claimed(session, user.username)
    # The release is the administrator's act: the case history names her, with the
    # system's power to release a task someone else holds.
    releaser = Actor(actor.username, system=True)
    released = [release_task(session, task.task_id, releaser) for task in claimed]
    ended = session.execute(
        delete(WebSession).where(WebSession.user_id == user.id).execution_options(synchronize_session=False)
    )
    user.is_active = False
    session.flush()
    sessions = int(ended.rowcount or 0)  # type: ignore[attr-defined]
    record(
        session,
        actor,
        "user.deactivated",
        f"Disattivato l'utente {user.username}: {sessions} sessioni chiuse, "
        f"{len(released)} attività restituite al gruppo"
        + (f" ({', '.join(f'{t.case_code} «{t.title}»' for t in released)})" if released else "")
        + ".",
        "user",
        user.username,
        before={"is_active": True},
        after={"is_active": False, "attivita_rilasciate": [t.task_id for t in released], "sessioni_chiuse": sessions},
    )
    return Deactivation(user, sessions, released)


def reactivate_user(session: Session, actor: Actor, user_id: int) -> AppUser:
    """Enable a disabled account again (with the roles it still holds)."""
    user = _user(session, actor, user_id)
    if user.is_active:
        return user
    user.is_active = True
    session.flush()
    record(
        session,
        actor,
        "user.reactivated",
        f"Riattivato l'utente {user.username}.",
        "user",
        user.username,
        before={"is_active": False},
        after={"is_active": True},
    )
    return user


def reset_password(session: Session, actor: Actor, user_id: int) -> str:
    """Give a user a new one-time password (returned, to be shown once); she must change it
    at her next login. Her open sessions end."""
    user = _user(session, actor, user_id)
    password = generate_password()
    was_forced = bool(user.must_change_password)
    set_password(session, user, password)  # the policy, and every session and pending login ends
    user.must_change_password = True
    session.flush()
    record(
        session,
        actor,
        "user.password_reset",
        f"Reimpostata la password di {user.username} (password temporanea, da cambiare al prossimo accesso).",
        "user",
        user.username,
        before={"must_change_password": was_forced},
        after={"password": CHANGED, "must_change_password": True},
    )
    return password


def reset_user_second_factor(session: Session, actor: Actor, user_id: int) -> AppUser:
    """Switch off a user's second factor (she lost her phone and her recovery codes); she sets
    it up again at her next login when her roles require it."""
    user = _user(session, actor, user_id)
    if not has_second_factor(user):
        raise Conflict(f"L'utente {user.username} non ha il secondo fattore attivo.")
    reset_second_factor(session, user)
    session.flush()
    record(
        session,
        actor,
        "user.second_factor_reset",
        f"Disattivato il secondo fattore di {user.username}.",
        "user",
        user.username,
        before={"secondo_fattore": True},
        after={"secondo_fattore": False},
    )
    return user


def grant_choices() -> list[tuple[str, str, bool]]:
    """(code, label, regional) of every role, in the matrix's order."""
    return [(code, role.label, role.regional) for code, role in BY_CODE.items()]
