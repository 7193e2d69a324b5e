"""The management client presents the bearer token a protected server asks
for: given, or from PROBESHARE_TOKEN."""

from __future__ import annotations

import http.server
import json
import threading
from typing import Iterator, List, Optional

import pytest

from probeshare.management import Management, ManagementError

TOKEN = "a-test-token-of-enough-length"


class _Recorder(http.server.BaseHTTPRequestHandler):
    seen: List[Optional[str]] = []

    def do_DELETE(self) -> None:  # noqa: N802 (http.server's naming)
        presented = self.headers.get("Authorization")
        _Recorder.seen.append(presented)
        if presented == f"Bearer {TOKEN}":
            self._answer(200, {"state": "closed"})
        else:
            self._answer(401, {"error": "send Authorization: Bearer TOKEN"})

    def _answer(self, status: int, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    _Recorder.seen = []
    try:
        yield f"127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        thread.join()


def test_without_a_token_the_refusal_is_raised_with_its_status(
    server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PROBESHARE_TOKEN", raising=False)
    with pytest.raises(ManagementError) as refused:
        Management(server).close_session("sim:a", 1)
    assert refused.value.status == 401
    assert _Recorder.seen == [None]


def test_a_given_token_is_presented(server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PROBESHARE_TOKEN", raising=False)
    Management(server, token=TOKEN).close_session("sim:a", 1)
    assert _Recorder.seen == [f"Bearer {TOKEN}"]


def test_the_environment_token_is_presented(
    server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROBESHARE_TOKEN", TOKEN)
    Management(server).close_session("sim:a", 1)
    assert _Recorder.seen == [f"Bearer {TOKEN}"]
