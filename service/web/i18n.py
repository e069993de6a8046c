"""Languages of the pages: chosen by `?lang=`, remembered in a cookie, else from Accept-Language, else English."""
from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlencode
from zoneinfo import ZoneInfo

from babel.dates import format_date
from flask import current_app, request
from flask.wrappers import Response
from markupsafe import Markup
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header, parse_cookie

from events.domain.canonical import parse_time

LANGUAGES = ("ky", "ru", "en")
NAMES = {"ky": "Кыргызча", "ru": "Русский", "en": "English"}
COOKIE = "lang"
# Dates as people write them: "1 September 2021" in English (CLDR's British order), CLDR's long forms otherwise.
DATE_LOCALE = {"en": "en_GB", "ru": "ru", "ky": "ky"}


def language_of(environ: dict[str, Any]) -> str:
    """Return the interface language a raw WSGI request asks for, as `select_locale` decides it."""
    asked = parse_qs(environ.get("QUERY_STRING", "")).get("lang", [""])[0]
    if asked in LANGUAGES:
        return asked
    cookies = parse_cookie(environ.get("HTTP_COOKIE", ""))
    if cookies.get(COOKIE) in LANGUAGES:
        return str(cookies[COOKIE])
    offered = parse_accept_header(environ.get("HTTP_ACCEPT_LANGUAGE"), LanguageAccept)
    return offered.best_match(LANGUAGES) or "en"


def select_locale() -> str:
    """Return the interface language of this request."""
    asked = request.args.get("lang")
    if asked in LANGUAGES:
        return asked
    remembered = request.cookies.get(COOKIE)
    if remembered in LANGUAGES:
        return remembered
    return request.accept_languages.best_match(LANGUAGES) or "en"


def in_language(code: str) -> str:
    """Return this page's address with the interface language set to `code`."""
    return request.path + "?" + urlencode({**request.args.to_dict(), "lang": code})


def remember_language(response: Response) -> Response:
    """Keep a language chosen with `?lang=` in a cookie for a year."""
    asked = request.args.get("lang")
    if asked in LANGUAGES and request.cookies.get(COOKIE) != asked:
        response.set_cookie(COOKIE, asked, max_age=365 * 24 * 3600, samesite="Lax", httponly=True,
                            secure=current_app.config["SECURE_COOKIES"])
    return response


def _moment(value: str | datetime) -> datetime:
    moment = parse_time(value) if isinstance(value, str) else value
    return moment.astimezone(ZoneInfo(current_app.config["TIMEZONE"]))


def _time_element(iso: str, text: str) -> Markup:
    return Markup('<time datetime="{}">{}</time>').format(iso, text)


def human_date(value: str | datetime | None, locale: str) -> Markup:
    """Render a stored time as a date in the deployment's time zone, the ISO value in a <time> element."""
    if value is None:
        return Markup("")
    moment = _moment(value)
    return _time_element(moment.isoformat(), format_date(moment.date(), format="long", locale=DATE_LOCALE[locale]))


def human_time(value: str | datetime | None, locale: str) -> Markup:
    """Render a stored time as a date and a time of day in the deployment's time zone, in a <time> element."""
    if value is None:
        return Markup("")
    moment = _moment(value)
    text = f"{format_date(moment.date(), format='long', locale=DATE_LOCALE[locale])}, {moment:%H:%M}"
    return _time_element(moment.isoformat(), text)


def day(value: str | datetime | None) -> str:
    """Return a stored time as the deployment's calendar day, YYYY-MM-DD (for date inputs)."""
    return "" if value is None else _moment(value).date().isoformat()
