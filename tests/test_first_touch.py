"""What a new user touches first: exit codes, counts that agree, Ctrl-C, an unreachable store,
the example pipeline. Each test runs newsbeam as a user does (the CLI, a process of its own)."""

from __future__ import annotations

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
