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
    from newsbeam.pipeline.serve import StoreCollector
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
