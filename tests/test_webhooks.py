"""Webhooks: each new story POSTed once, signed, to a local receiver; with the receiver down
for a pass, the stories arrive at the next; a receiver on a private address is refused."""

from __future__ import annotations

import http.server
import json
import threading

import pytest

from newsbeam.outputs.webhooks import DELIVERY_HEADER, SIGNATURE_HEADER, verify
from newsbeam.pipeline.cli import main
from newsbeam.pipeline.config import ConfigError, load_feeds
from tests.conftest import RUN_ARGS, latest_stories

SECRET = "hook-secret-5417"


class Receiver(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.status = 200
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if receiver.status == 200:
                    receiver.received.append((dict(self.headers), body))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        super().__init__(("127.0.0.1", 0), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"


@pytest.fixture
def receiver():
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def feeds_file(tmp_path, site, hook_url: str, private: bool = True):
    (tmp_path / "hook-secret").write_text(SECRET)
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text(f"webhooks:\n  - url: {hook_url}\n    secret_file: {tmp_path / 'hook-secret'}\n"
                     + ("    allow_private_network: true\n" if private else "")
                     + f"feeds:\n  - url: {site.base_url}feeds/herald.rss\n")
    return feeds


def test_each_new_story_arrives_once_signed_and_a_receiver_down_gets_them_at_the_next_pass(site, tmp_path,
                                                                                           receiver):
    feeds = feeds_file(tmp_path, site, receiver.url)
    out = tmp_path / "out"
    receiver.status = 503  # down for the first pass
    assert main(["run", "--feeds", str(feeds), "--output", str(out), *RUN_ARGS]) == 0
    stories = latest_stories(out)
    assert receiver.received == [] and len(stories) == 2
    receiver.status = 200
    assert main(["run", "--feeds", str(feeds), "--output", str(out), *RUN_ARGS]) == 0
    bodies = [json.loads(body) for _, body in receiver.received]
    assert sorted(body["story"]["story_id"] for body in bodies) == sorted(stories)  # each once
    assert {body["event"] for body in bodies} == {"story.new"}
    for headers, body in receiver.received:
        assert verify(body, headers[SIGNATURE_HEADER], SECRET) and not verify(body, headers[SIGNATURE_HEADER], "x")
        assert headers[DELIVERY_HEADER] == json.loads(body)["id"]
    assert main(["run", "--feeds", str(feeds), "--output", str(out), *RUN_ARGS]) == 0
    assert len(receiver.received) == len(bodies)  # nothing new, nothing sent again


@pytest.mark.parametrize("address", ["169.254.169.254", "10.0.0.1"])
def test_a_webhook_to_a_private_address_is_refused(site, tmp_path, capsys, address):
    feeds = feeds_file(tmp_path, site, f"http://{address}/hook", private=False)
    out = tmp_path / "out"
    assert main(["run", "--feeds", str(feeds), "--output", str(out), *RUN_ARGS]) == 0
    summary = json.loads(next(out.glob("summary-*.json")).read_text())
    assert summary["webhooks_delivered"] == 0 and summary["webhooks_failed"] == 2
    assert main(["errors", "--output", str(out), "--json"]) == 0
    letters = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert {letter["stage"] for letter in letters} == {"webhook"}
    assert all(letter["final"] and "refused" in letter["reason"] for letter in letters), letters


def test_a_webhook_secret_is_never_written_in_the_feeds_file(tmp_path):
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text("webhooks:\n  - {url: 'https://hooks.example/x', secret: hunter2}\n"
                     "feeds:\n  - https://a.example/f\n")
    with pytest.raises(ConfigError, match="secret_file or secret_env") as caught:
        load_feeds(feeds)
    assert "hunter2" not in str(caught.value)


def test_an_edit_in_place_is_pushed_with_the_version_it_replaced(site, tmp_path, receiver):
    from tests.test_revisions import PARAGRAPHS, feed, page

    base, current = site.base_url, {"page": page("Council approves ferry timetable", PARAGRAPHS),
                                    "feed": feed(site.base_url, "2026-12-07T08:00:00Z")}
    site.routes["/ferry.html"] = lambda h: h.send_body(200, current["page"])
    site.routes["/harbour.atom"] = lambda h: h.send_body(200, current["feed"], "application/atom+xml")
    (tmp_path / "hook-secret").write_text(SECRET)
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text(f"webhooks:\n  - url: {receiver.url}\n    secret_file: {tmp_path / 'hook-secret'}\n"
                     f"    allow_private_network: true\nfeeds:\n  - url: {base}harbour.atom\n")
    out = tmp_path / "out"
    assert main(["run", "--feeds", str(feeds), "--output", str(out), *RUN_ARGS]) == 0
    current.update(page=page("Council approves new ferry timetable", PARAGRAPHS),
                   feed=feed(base, "2026-12-07T10:00:00Z"))
    assert main(["run", "--feeds", str(feeds), "--output", str(out), *RUN_ARGS]) == 0
    events = [json.loads(body) for _, body in receiver.received]
    assert [event["event"] for event in events] == ["story.new", "story.updated", "story.revised"]
    assert events[2]["revision"]["title"] == "Council approves ferry timetable"
    assert events[2]["revision"]["changed"] == ["title"]
