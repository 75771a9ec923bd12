"""What a new user touches first: exit codes, counts that agree, Ctrl-C, an unreachable store,
the example pipeline. Each test runs newsbeam as a user does (the CLI, a process of its own)."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.conftest import BEAM_ARGS, ROOT


def refused_links_feed(folder) -> str:
    """A local feed whose three items link where newsbeam must not go without
    --allow-private-network: loopback, the cloud metadata address, a local file."""
    folder.mkdir(exist_ok=True)
    (folder / "feed.xml").write_text(
        "<rss version='2.0'><channel><title>Local</title>"
        "<item><title>Secret</title><link>http://127.0.0.1:9/secret</link></item>"
        "<item><title>Metadata</title><link>http://169.254.169.254/latest/meta-data/</link></item>"
        "<item><title>Passwd</title><link>file:///etc/passwd</link></item>"
        "</channel></rss>", encoding="utf-8")
    (folder / "feeds.yaml").write_text("feeds:\n  - url: feed.xml\n    name: Local\n", encoding="utf-8")
    return str(folder / "feeds.yaml")


@pytest.mark.slow
def test_a_pass_whose_pages_are_all_refused_exits_3_never_by_a_signal(tmp_path):
    """The encoder, the language profiles and the publishers' table load in a thread beside a
    pass; a pass this short used to end while that thread was in native code, and the process
    died by SIGABRT (exit 134) after printing its summary. Ten times in a row, exit 3."""
    feeds = refused_links_feed(tmp_path / "feeds")
    for attempt in range(10):
        output = tmp_path / f"out{attempt}"
        result = subprocess.run([sys.executable, "-m", "newsbeam", "run", "--feeds", feeds, "--output", str(output),
                                 *BEAM_ARGS], cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert result.returncode == 3, (attempt, result.returncode, result.stderr[-2000:])
        assert "2 refused" in result.stdout and "FAILING" in result.stdout
        assert "terminate called" not in result.stderr


def test_one_set_of_counts_that_add_up_in_the_summary_errors_and_metrics(site, tmp_path, capsys):
    """Two feeds list the same failing page; a third is no feed; a host fails three pages in a
    row and the rest of its pages wait for the next pass. Each feed listed is counted once, each
    page due once (fetched, failed, refused or deferred), and the dead letters as the store keeps
    them: the summary, `errors` and /metrics say the same."""
    from newsbeam.pipeline.cli import main
    from newsbeam.reading.serve import StoreCollector
    from newsbeam.state.store import open_store
    from tests.conftest import RUN_ARGS, serving, write_feeds_file

    base = site.base_url
    site.routes["/down.html"] = lambda h: h.send_body(503, b"busy")
    shared = f"<item><title>Down</title><link>{base}down.html</link></item>"
    for name in ("a", "b"):
        site.routes[f"/{name}.rss"] = lambda h: h.send_body(
            200, f"<rss version='2.0'><channel><title>T</title>{shared}</channel></rss>".encode(),
            "application/rss+xml")
    site.routes["/not-a-feed.rss"] = lambda h: h.send_body(200, b"<html><body>a page</body></html>")
    with serving(tmp_path / "failing", "127.0.0.2") as failing:
        for n in range(6):
            failing.routes[f"/{n}.html"] = lambda h: h.send_body(503, b"busy")
        links = "".join(f"<item><title>P{n}</title><link>{failing.base_url}{n}.html</link></item>" for n in range(6))
        site.routes["/c.rss"] = lambda h: h.send_body(
            200, f"<rss version='2.0'><channel><title>C</title>{links}</channel></rss>".encode(), "application/rss+xml")
        feeds = write_feeds_file(tmp_path / "feeds.yaml", [base + "a.rss", base + "b.rss", base + "not-a-feed.rss",
                                                            base + "c.rss"])
        capsys.readouterr()
        assert main(["run", "--feeds", str(feeds), "--output", str(tmp_path / "out"), *RUN_ARGS]) == 3
    out = capsys.readouterr().out
    assert "feeds     4 listed: 3 fetched, 0 not modified, 0 not due, 1 failed" in out
    pages_line = next(line for line in out.splitlines() if line.startswith("  pages"))
    due, fetched, failed, deferred = (int(n) for n in re.findall(r"(\d+) (?:due|fetched|failed|deferred)", pages_line))
    assert due == 7 and fetched == 0 and failed + deferred == 7 and deferred >= 1, pages_line
    assert "1 listed by another feed too" in out
    store = open_store(str(tmp_path / "out" / "state.db"))
    letters = len(store.dead_letters.all())
    assert letters == 8  # the seven pages (the one two feeds share is one) and the feed that is none
    assert f"dead letters {letters} " in out
    assert main(["errors", "--output", str(tmp_path / "out")]) == 0
    assert f"{letters} dead letter(s)" in capsys.readouterr().out
    metrics = {family.name: family for family in StoreCollector(store).collect()}
    counts = {sample.labels["name"]: sample.value for sample in metrics["newsbeam_last_run_count"].samples}
    assert counts["dead_letters"] == letters and counts["pages_deferred"] == deferred


@pytest.mark.slow
def test_the_first_ctrl_c_ends_the_pass_within_seconds_and_loses_nothing(tmp_path):
    """Twenty pages on one host, a second apart (politeness). Ctrl-C after the third: the pass
    says so, files what it fetched, and exits 130 within seconds; the next run fetches each
    remaining page once, and every page is in a story."""
    import signal
    import time

    from tests.conftest import RUN_ARGS, latest_stories, serving, write_feeds_file
    from tests.test_hostile_runs import article_page, rss

    with serving(tmp_path / "site", "127.0.0.2") as site:
        for n in range(20):
            site.routes[f"/{n}.html"] = lambda h, n=n: h.send_body(200, article_page(f"Report number {n} of twenty"))
        site.routes["/feed.rss"] = lambda h: h.send_body(
            200, rss(*[f"{site.base_url}{n}.html" for n in range(20)]), "application/rss+xml")
        feeds = write_feeds_file(tmp_path / "feeds.yaml", [site.base_url + "feed.rss"])
        command = [sys.executable, "-m", "newsbeam", "run", "--feeds", str(feeds), "--output", str(tmp_path / "out"),
                   *RUN_ARGS]
        slow = [arg if arg != "0" else "1" for arg in command]  # --per-host-delay 1
        process = subprocess.Popen(slow, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 120
        while sum(path.endswith(".html") for path in site.paths_requested()) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)  # waiting for the server to have answered three pages
        process.send_signal(signal.SIGINT)
        signalled = time.monotonic()
        stdout, stderr = process.communicate(timeout=60)
        assert process.returncode == 130, stderr[-2000:]
        assert time.monotonic() - signalled < 10
        assert "stopping at the next safe point" in stderr and "Traceback" not in stderr
        assert "deferred to a later pass" in stdout and "stopped   by a signal" in stdout
        first = [path for path in site.paths_requested() if path.endswith(".html")]
        assert 3 <= len(first) < 20
        again = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert again.returncode == 0, again.stderr[-2000:]
        pages = [path for path in site.paths_requested() if path.endswith(".html")]
    assert sorted(pages) == sorted(f"/{n}.html" for n in range(20))  # each page once
    filed = {v["url"].rsplit("/", 1)[1] for story in latest_stories(tmp_path / "out").values()
             for v in story["variants"]}
    assert filed == {f"{n}.html" for n in range(20)}  # every page in a story (alike pages in one)


def test_the_small_things_a_new_user_meets_on_the_way(site, tmp_path, capsys):
    """--site with the address a feed was served from, a tags string, --fedds, previews cut
    at a word, an event's stories in time order, feed text named as such in the report, and
    'next pass' where a feed has no time of its own."""
    from newsbeam.pipeline.cli import main
    from newsbeam.reading.report import preview
    from newsbeam.state.store import open_store
    from tests.conftest import RUN_ARGS, write_feeds_file

    site.routes["/gone.html"] = lambda h: h.send_body(404, b"gone")
    site.routes["/text.rss"] = lambda h: h.send_body(200, (
        "<rss version='2.0'><channel><title>T</title><item><title>Ferry timetable changes</title>"
        f"<link>{site.base_url}gone.html</link><description>{'The harbour ferry runs every hour from Monday. ' * 6}"
        "</description></item></channel></rss>").encode(), "application/rss+xml")
    feeds = write_feeds_file(tmp_path / "feeds.yaml", [site.base_url + f for f in
                                                       ("feeds/kurier.rss", "feeds/herald.rss", "feeds/wire.atom",
                                                        "text.rss")])
    output = tmp_path / "out"
    assert main(["run", "--feeds", str(feeds), "--output", str(output), *RUN_ARGS]) == 0
    capsys.readouterr()
    assert main(["stories", "list", "--output", str(output), "--site", "127.0.0.1", "--json"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 6  # the demo's five and the feed's one

    bad = tmp_path / "tags.yaml"
    bad.write_text(f"feeds:\n  - url: {site.base_url}feeds/kurier.rss\n    tags: local\n")
    assert main(["run", "--feeds", str(bad), "--output", str(output), *RUN_ARGS]) == 2
    assert "'tags' must be a list: tags: [local]" in capsys.readouterr().err
    assert main(["run", "--fedds", str(feeds), "--output", str(output), *RUN_ARGS]) == 2
    assert "unknown option --fedds (did you mean --feeds?)" in capsys.readouterr().err

    text = "word " * 200
    assert preview(text).endswith("word") and len(preview(text)) <= 400

    store = open_store(str(output / "state.db"))
    event = next(s for s in store.find_stories() if "Cable car vote" in s.title).event_id
    members = store.event(event)
    assert len(members) == 2 and [s.published for s in members] == sorted(s.published for s in members)

    assert main(["report", "--output", str(output), "-o", str(tmp_path / "report.html")]) == 0
    report = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "text from the feed (the page was not read)" in report
    assert "next pass" in report
    # the feed's item gives no time: undated, counted apart, not charted in the hour it was read
    assert "stories per hour published (UTC), 1 undated" in report and "publication time unknown" in report
