"""A real HTTP receiver for webhook tests (the standard library's server on a free loopback port)."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    """One POST as it arrived: its headers and its raw body."""

    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """What came in, and how to answer: `answer(n)` gives the status of the n-th request (from 1) and may sleep."""

    url: str = ""
    requests: list[Received] = field(default_factory=list)
    answer: Callable[[int], int] = lambda _n: 200
    lock: threading.Lock = field(default_factory=threading.Lock)

    def taken(self) -> list[Received]:
        """Return a copy of what came in so far."""
        with self.lock:
            return list(self.requests)


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with receiver.lock:
                receiver.requests.append(Received(dict(self.headers.items()), body))
                number = len(receiver.requests)
            status = receiver.answer(number)
            try:
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()
            except OSError:
                pass  # the sender gave up waiting (a time-out test)

        def log_message(self, *args: object) -> None:
            pass

    return Handler


@contextmanager
def webhook_receiver() -> Iterator[Receiver]:
    """Run a receiver on a free loopback port; yield it (its url is http://127.0.0.1:PORT/hook)."""
    receiver = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    server.daemon_threads = True
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        time.sleep(0)
