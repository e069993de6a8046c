"""Who is reading the pages: sign-in and sign-out with a password, the signed-in user, and who may see what.

A session is a signed cookie naming the user and a fingerprint of their password hash, so a new password
ends every session made with the old one. A session is never an API token, and a token never signs in:
the API reads only the Authorization header, the pages only this cookie.
"""
from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, abort, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.wrappers import Response as WerkzeugResponse

from service import accounts
from service.bootstrap import services

people = Blueprint("people", __name__)
SESSION_USER, SESSION_SEAL = "user", "seal"


def _seal(password_hash: str | None) -> str:
    return hashlib.sha256((password_hash or "").encode("utf-8")).hexdigest()[:24]


def _password_hash(name: str) -> str | None:
    with services().engine.connect() as connection:
        found: str | None = connection.execute(select(accounts.users.c.password_hash)
                                               .where(accounts.users.c.name == name)).scalar()
        return found


def current_user() -> accounts.User | None:
    """Return the signed-in user (None for a visitor, or a session whose user or password has changed)."""
    if "web_user" in g:
        known: accounts.User | None = g.web_user
        return known
    found = None
    name = session.get(SESSION_USER)
    if isinstance(name, str):
        with services().engine.connect() as connection:
            found = accounts.find(connection, name)
        if found is None or session.get(SESSION_SEAL) != _seal(_password_hash(name)):
            session.clear()
            found = None
    g.web_user = found
    return found


def require_user(*roles: str) -> accounts.User:
    """Return the signed-in user holding one of the roles (any, when none is named); send a visitor to sign
    in, and answer 403 to a user without the role."""
    user = current_user()
    if user is None:
        abort(redirect(url_for("people.sign_in", next=request.full_path.rstrip("?"))))
    if roles and not user.principal.has(*roles):
        abort(403)
    return user


def _local(target: str | None) -> str:
    """Return a place to go back to after signing in: a path on this site only."""
    if not target:
        return url_for("reading.catalogue")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("reading.catalogue")
    return target


@people.route("/sign-in", methods=["GET", "POST"])
def sign_in() -> Any:
    """Sign in with a username and a password."""
    error, status = None, 200
    target = _local(request.values.get("next"))
    name = request.form.get("username", "").strip()
    if request.method == "POST":
        password = request.form.get("password", "")
        try:
            user = accounts.check_password(services().engine, name, password) if name and password else None
        except accounts.TooManyAttempts as refused:
            error, status = _("Too many failed attempts. Try again in %(seconds)d seconds.",
                              seconds=refused.seconds), 429
        else:
            if user is None:
                error, status = _("The username or the password is wrong."), 401
            else:
                session.clear()
                session[SESSION_USER] = user.name
                session[SESSION_SEAL] = _seal(_password_hash(user.name))
                session.permanent = True
                return redirect(target, 303)
    return render_template("web/sign_in.html", error=error, username=name, target=target), status


@people.post("/sign-out")
def sign_out() -> WerkzeugResponse:
    """End the session."""
    session.clear()
    return redirect(url_for("reading.catalogue"), 303)
