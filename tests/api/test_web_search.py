"""The search page and the header's search box through Flask's test client, on the demo, in three languages."""
from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from service.content import demo
from tests.support import DATABASES
from tests.support.apps import running_app
from tests.support.pages import alert, sign_in

PID = demo.POLICY_ID


@pytest.fixture(scope="module", params=DATABASES)
def site(request, databases, tmp_path_factory) -> Iterator[tuple]:
    """The app with the demo loaded (read-only for this module), and the demo's users and passwords."""
    with databases.lend(request.param, tmp_path_factory.mktemp("web-search")) as url, running_app(url) as app:
        yield app, demo.load_demo(url)


@pytest.fixture
def client(site):
    return site[0].test_client()


def results(html: str) -> list[tuple[str, str]]:
    """Return each result's section id and whether it is in force, in order."""
    return re.findall(r'<li data-section-id="([^"]+)" data-in-force="(true|false)"', html)


@pytest.mark.parametrize("path", ["/", f"/policies/{PID}", f"/policies/{PID}/versions"])
def test_the_reading_room_has_a_labelled_search_box_in_its_header(client, path):
    html = client.get(path + "?lang=en").get_data(as_text=True)
    header = html.split("</header>")[0]
    assert re.search(r'<form class="site-search" role="search" aria-label="Search" method="get" '
                     r'action="/search">', header)
    assert '<label for="site-search-q" class="visually-hidden">Search the policies</label>' in header
    assert '<input type="search" id="site-search-q" name="q"' in header


def test_a_search_finds_the_section_in_force_marks_its_words_and_links_to_its_anchor(client):
    page = client.get("/search", query_string={"q": "иш берүүчүлөрдүн пикирин", "lang": "en"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and page.mimetype == "text/html"
    found = results(html)
    assert found and all(in_force == "true" for _, in_force in found)
    section = found[0][0]
    assert f'href="/policies/{PID}#{section}"' in html
    assert "<mark>иш</mark> <mark>берүүчүлөрдүн</mark> <mark>пикирин</mark>" in html
    assert "Version 2, in force" in html and "the text of version 2" in html
    assert 'value="иш берүүчүлөрдүн пикирин"' in html  # the query stays in its box
    assert "site-search-q" not in html  # the page's own box replaces the header's


def test_without_a_query_the_page_is_the_box_alone(client):
    html = client.get("/search?lang=en").get_data(as_text=True)
    assert '<label for="search-q">Words, or a phrase in quotes</label>' in html
    assert "Results" not in html and alert(html) is None


def test_nothing_found_is_said(client):
    html = client.get("/search", query_string={"q": "плагиат", "lang": "en"}).get_data(as_text=True)
    assert results(html) == [] and "No section matches." in html


@pytest.mark.parametrize(("lang", "q", "message"), [
    ("en", '"илим менен', "A quotation mark is not closed: put a phrase between two of them."),
    ("ky", '"илим менен', "Тырмакча жабылган жок: сөз айкашын эки тырмакчанын ортосуна жазыңыз."),
    ("ru", "", "Введите слово для поиска."),
    ("en", "*** ()", "The query has no words to search for."),
])
def test_a_query_that_cannot_be_searched_is_a_400_saying_why_in_the_readers_language(client, lang, q, message):
    page = client.get("/search", query_string={"q": q, "lang": lang})
    assert page.status_code == 400
    assert alert(page.get_data(as_text=True)) == message


def test_every_version_is_for_signed_in_staff(client, site):
    anonymous = client.get("/search", query_string={"q": "интеграциялоо", "in": "all"})
    assert anonymous.status_code == 302 and "/sign-in" in anonymous.headers["Location"]
    assert 'name="in"' not in client.get("/search?q=x&lang=en").get_data(as_text=True)
    sign_in(client, "auditor", site[1].passwords["auditor"])
    assert 'name="in"' in client.get("/search?q=x&lang=en").get_data(as_text=True)
    html = client.get("/search", query_string={"q": '"илим менен интеграциялоо"', "in": "all", "lang": "en"}
                      ).get_data(as_text=True)
    [(section, in_force)] = results(html)
    assert in_force == "false"
    assert f'href="/policies/{PID}?version=1#{section}"' in html
    assert "Version 1, not in force" in html and "the text of version 1" in html
    current = client.get("/search", query_string={"q": '"илим менен интеграциялоо"', "lang": "en"})
    assert results(current.get_data(as_text=True)) == []


def test_the_page_speaks_kyrgyz_and_keeps_kyrgyz_queries_as_typed(client):
    html = client.get("/search", query_string={"q": "өнүктүрүү", "lang": "ky"}).get_data(as_text=True)
    assert "<h1>Издөө</h1>" in html and 'value="өнүктүрүү"' in html
    assert "<mark>" in html and results(html)


def test_more_results_follow_on_a_next_page(client):
    first = client.get("/search", query_string={"q": "б", "lang": "en"}).get_data(as_text=True)  # words in б…
    link = re.search(r'<a rel="next" href="([^"]+)"', first)
    assert link, "more than one page of results for a common word"
    second = client.get(link.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert results(second) and not set(results(first)) & set(results(second))
