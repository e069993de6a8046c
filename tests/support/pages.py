"""The pages through Flask's test client: signing in, and filling in the forms a page carries as a browser would."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from html import unescape
from html.parser import HTMLParser
from typing import Any

from werkzeug.datastructures import MultiDict


def csrf_token(html: str) -> str:
    """Return the CSRF token of the first form on a page."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the form carries a CSRF token"
    return found.group(1)


def sign_in(client: Any, name: str, password: str, next_page: str = "/") -> Any:
    """Sign in through the sign-in form; return the answer to its POST."""
    form = client.get("/sign-in?lang=en").get_data(as_text=True)
    return client.post("/sign-in", data={"username": name, "password": password, "next": next_page,
                                         "csrf_token": csrf_token(form)})


@dataclass
class Form:
    """One form of a page: where it posts, and the values a browser would send untouched (hidden, checked,
    selected, pre-filled)."""

    action: str
    method: str
    values: dict[str, list[str]] = field(default_factory=dict)
    buttons: list[tuple[str | None, str | None, str]] = field(default_factory=list)  # name, value, text

    def data(self, **changes: Any) -> MultiDict[str, str]:
        """Return the fields to send: the form's own, with those named replaced (a list: several values)."""
        sent = {**self.values}
        for name, value in changes.items():
            sent[name] = [str(v) for v in value] if isinstance(value, (list, tuple)) else [str(value)]
        return MultiDict([(name, value) for name, values in sent.items() for value in values])


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self.current: Form | None = None
        self.select: str | None = None
        self.textarea: str | None = None
        self.button: tuple[str | None, str | None] | None = None
        self.text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "form":
            self.current = Form(action=a.get("action") or "", method=(a.get("method") or "get").lower())
            self.forms.append(self.current)
        elif self.current is None:
            return
        elif tag == "input" and a.get("name"):
            kind = (a.get("type") or "text").lower()
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            self.current.values.setdefault(a["name"] or "", []).append(a.get("value") or "")
        elif tag == "select":
            self.select = a.get("name")
        elif tag == "option" and self.select and "selected" in a:
            self.current.values[self.select] = [a.get("value") or ""]
        elif tag == "textarea":
            self.textarea, self.text = a.get("name"), ""
        elif tag == "button":
            self.button, self.text = (a.get("name"), a.get("value")), ""

    def handle_data(self, data: str) -> None:
        if self.textarea is not None or self.button is not None:
            self.text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.current = None
        elif tag == "select":
            self.select = None
        elif tag == "textarea" and self.current is not None and self.textarea:
            self.current.values[self.textarea] = [self.text]
            self.textarea = None
        elif tag == "button" and self.current is not None and self.button is not None:
            self.current.buttons.append((*self.button, self.text.strip()))
            self.button = None


def forms(html: str) -> list[Form]:
    """Return every form of a page."""
    parser = _Forms()
    parser.feed(html)
    return parser.forms


def form(html: str, action_ends: str, **values: str) -> Form:
    """Return the one form of a page whose action ends so (`/submit`, `/sign`, …) and that carries these values."""
    found = [f for f in forms(html) if f.action.split("?")[0].endswith(action_ends)
             and all(f.values.get(name) == [value] for name, value in values.items())]
    assert len(found) == 1, f"{len(found)} forms post to …{action_ends}"
    return found[0]


def alert(html: str) -> str | None:
    """Return the text of the page's role="alert" element (a refusal), or None."""
    found = re.search(r'<(\w+)[^>]*role="alert"[^>]*>(.*?)</\1>', html, re.S)
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found.group(2))).strip()) if found else None
