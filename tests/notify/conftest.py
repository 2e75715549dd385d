"""Local servers the notify tests send to: an SMTP server (aiosmtpd) and a group-robot HTTP server.

Both listen on 127.0.0.1 only, on free ports, and are started and stopped by the test that uses them.
"""

import json
import threading
from collections import defaultdict
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller

from tests.conftest import free_port


class MailSink:
    """An aiosmtpd handler that keeps every message, and refuses the addresses in `refused`."""

    def __init__(self):
        self.messages = []
        self.refused: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 - aiosmtpd's hook
        if address in self.refused:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list:
        return [m for m in self.messages if m["To"].addresses[0].addr_spec == address]


class SmtpServer:
    """Start and stop an SMTP server on a fixed port, so a test can take it down and bring it back."""

    def __init__(self, port: int):
        self.port = port
        self.sink = MailSink()
        self.controller = None

    def start(self) -> MailSink:
        self.controller = Controller(self.sink, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self.sink

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp(app, monkeypatch):
    """The app's mail settings pointed at 127.0.0.1:<free port>, with the server not yet started."""
    server = SmtpServer(free_port())
    monkeypatch.setitem(app.config, "SMTP_HOST", "127.0.0.1")
    monkeypatch.setitem(app.config, "SMTP_PORT", server.port)
    monkeypatch.setitem(app.config, "MAIL_FROM", "caretrack@school.example")
    monkeypatch.setitem(app.config, "BASE_URL", "https://caretrack.school.example")
    yield server
    server.stop()


@pytest.fixture
def mail(smtp) -> MailSink:
    """A running SMTP server's received messages."""
    return smtp.start()


class Robot:
    """What the robot server answers per path, and what it received.

    An answer is (status, JSON body) or "hang" (no answer until the test ends, so the client times out).
    A list of answers is used one per request, the last one repeating.
    """

    def __init__(self):
        self.received: dict[str, list] = defaultdict(list)
        self.answers: dict[str, object] = {}
        self.release = threading.Event()
        self.base_url = ""

    def answer(self, path: str):
        answer = self.answers.get(path, (200, {"errcode": 0, "errmsg": "ok"}))
        if isinstance(answer, list):
            return answer.pop(0) if len(answer) > 1 else answer[0]
        return answer

    def url(self, path: str, query: str = "") -> str:
        return f"{self.base_url}{path}" + (f"?{query}" if query else "")


def _handler(robot: Robot):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's hook
            path = self.path.split("?")[0]
            body = self.rfile.read(int(self.headers["Content-Length"]))
            robot.received[path].append({"json": json.loads(body), "content_type": self.headers["Content-Type"],
                                         "query": self.path.partition("?")[2]})
            answer = robot.answer(path)
            if answer == "hang":
                robot.release.wait(timeout=30)
                return
            status, payload = answer
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    return Handler


@pytest.fixture
def robot():
    """A group-robot server on 127.0.0.1 (plain HTTP: the https rule is the settings form's, tested there)."""
    robot = Robot()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(robot))
    server.daemon_threads = True
    robot.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield robot
    robot.release.set()
    server.shutdown()
    server.server_close()
