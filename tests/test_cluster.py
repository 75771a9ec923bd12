"""newsbeam on a real Dask cluster (a scheduler and two workers on 127.0.0.1, started by
.ci/start-dask) and on Prism (Beam's portable local runner, built by .ci/build-prism), against
the local runner: the same stories and variants, both workers at work, dead letters retried,
nothing fetched twice, and a worker killed in the middle of a run."""

from __future__ import annotations

import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import pytest

from newsbeam.pipeline.cli import main
from newsbeam.state.store import open_store
from tests.conftest import BEAM_ARGS, ROOT, latest_stories, required_service, write_feeds_file
from tests.many_sites import ManySites
from tests.test_modes import check_streaming

pytestmark = [pytest.mark.slow, pytest.mark.cluster]

DEMO_FEEDS = ["feeds/kurier.rss", "feeds/herald.rss", "feeds/wire.atom", "feeds/gazette.rss",
              "feeds/dead-links.rss"]
FAST = ("--allow-private-network", "--per-host-delay", "0.05")


@pytest.fixture(scope="module")
def dask_address() -> str:
    return required_service("NEWSBEAM_TEST_DASK", "the Dask cluster (.ci/start-dask)")


@pytest.fixture(scope="module")
def prism_binary() -> str:
    return required_service("NEWSBEAM_TEST_PRISM", "Prism (.ci/build-prism)")


def dask_args(address: str) -> list[str]:
    return ["--runner", "DaskRunner", "--dask_client_address", address]


def stories_by_urls(store_url: str) -> set[frozenset[str]]:
    """The stories of a store as sets of their pages' URLs: comparable across stores."""
    stories: dict[str, set[str]] = {}
    for story_id, url in open_store(store_url).db.read().execute("SELECT story_id, url FROM articles").fetchall():
        stories.setdefault(story_id, set()).add(url)
    return {frozenset(urls) for urls in stories.values()}


def run(feeds: pathlib.Path, output: pathlib.Path, *args: str) -> dict:
    assert main(["run", "--feeds", str(feeds), "--output", str(output), *FAST, *args]) == 0
    return json.loads(sorted(output.glob("summary-*.json"))[-1].read_text())


def test_the_demo_on_dask_matches_the_local_runner_and_retries_its_dead_letters(site, tmp_path, postgres_url,
                                                                                 dask_address):
    feeds = write_feeds_file(tmp_path / "feeds.yaml", [site.base_url + f for f in DEMO_FEEDS])
    run(feeds, tmp_path / "local", *BEAM_ARGS)
    on_dask = run(feeds, tmp_path / "dask", "--store", postgres_url, *dask_args(dask_address))
    assert stories_by_urls(postgres_url) == stories_by_urls(str(tmp_path / "local" / "state.db"))
    assert len(on_dask["workers"]) == 2  # both workers read a shard
    written = latest_stories(tmp_path / "dask")
    assert {frozenset(v["url"] for v in r["variants"]) for r in written.values()} == stories_by_urls(postgres_url)
    letters = open_store(postgres_url).dead_letters.all()
    assert sorted(d.stage for d in letters) == ["extract", "page_fetch"]

    # The broken pages come back and the retries fall due: the next pass on Dask resolves them.
    (site.folder / "broken" / "missing-page.html").write_text(
        (site.folder / "herald" / "cable-car-across-the-river.html").read_text())
    store = open_store(postgres_url)
    store.db.read().execute("UPDATE dead_letters SET next_due = '2000-01-01T00:00:00+00:00'")
    again = run(feeds, tmp_path / "dask", "--store", postgres_url, *dask_args(dask_address))
    assert again["retries_due"] == 2 and again["feeds_fetched"] == 0
    assert [d.stage for d in store.dead_letters.all()] == ["extract"]  # the page that never extracts stays


def test_many_sites_on_dask_match_the_local_runner_and_fetch_nothing_twice(tmp_path, postgres_url, dask_address):
    sites = ManySites([10] * 30)  # 300 distinct pages on 30 hosts, WMT translations across sites
    try:
        feeds = write_feeds_file(tmp_path / "feeds.yaml", sites.feed_urls())
        local = run(feeds, tmp_path / "local", *BEAM_ARGS)
        on_dask = run(feeds, tmp_path / "dask", "--store", postgres_url, *dask_args(dask_address))
        requests_after_first = sum(len(site.log) for site in sites.sites)
        second = run(feeds, tmp_path / "dask", "--store", postgres_url, *dask_args(dask_address))
        page_requests = sum(1 for site in sites.sites for path, _, _ in site.log if path.startswith("/a/"))
    finally:
        sites.close()
    assert local["articles_extracted"] == on_dask["articles_extracted"] == 300
    assert stories_by_urls(postgres_url) == stories_by_urls(str(tmp_path / "local" / "state.db"))
    assert any(len(urls) == 3 for urls in stories_by_urls(postgres_url))  # translations merged across sites
    assert len(on_dask["workers"]) == 2 and min(on_dask["workers"].values()) >= 1
    assert (second["feeds_fetched"], second["articles_new"], second["stories_new"]) == (0, 0, 0)
    assert page_requests == 600  # each page once per runner, none in the second pass
    assert sum(len(site.log) for site in sites.sites) == requests_after_first + 30  # only the feeds again


def test_a_dask_worker_killed_mid_run_leaves_every_page_in_one_story(tmp_path, postgres_url, dask_address):
    from distributed import Client

    sites, process = ManySites([8] * 20), None
    try:
        feeds = write_feeds_file(tmp_path / "feeds.yaml", sites.feed_urls())
        command = [sys.executable, "-m", "newsbeam", "run", "--feeds", str(feeds), "--output", str(tmp_path / "out"),
                   "--store", postgres_url, *FAST, *dask_args(dask_address)]
        process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        with Client(dask_address, timeout=30) as client:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not open_store(postgres_url).db.read().execute(
                    "SELECT COUNT(*) FROM articles").fetchone()[0]:
                time.sleep(0.2)
            # The worker processes by their nannies (each nanny's one child), not by asking the
            # workers: a worker busy in a task that holds the GIL answers no one until it is done.
            nannies = sorted(client.run(os.getpid, nanny=True).values())
            victim = _child_of(nannies[0])
            os.kill(victim, signal.SIGKILL)  # the worker's nanny starts a new one
            out, err = process.communicate(timeout=900)
            if process.returncode != 0:
                lines = [line for line in err.strip().splitlines() if line.startswith("newsbeam:")]
                assert process.returncode == 1 and len(lines) == 1, err[-3000:]
            _wait_for_workers(client, 2)
        assert main(["run", "--feeds", str(feeds), "--output", str(tmp_path / "out"), "--store", postgres_url,
                     *FAST, *dask_args(dask_address)]) == 0
    finally:
        sites.close()
        if process and process.poll() is None:  # a failed test leaves no run behind to hold the next test's workers
            process.kill()
            process.communicate()
    rows = open_store(postgres_url).db.read().execute("SELECT url, story_id FROM articles").fetchall()
    assert len(rows) == len({url for url, _ in rows}) == 160  # every page filed, once
    assert open_store(postgres_url).stories.pending() == []


def test_the_cluster_speaks_only_tls_to_peers_with_its_certificate(dask_address):
    """The cluster CI starts is set up as docs/deploy.md says a real one must be: anyone who
    reaches an open scheduler runs code on the workers, so it takes only TLS connections from
    holders of a certificate of its own authority (newsbeam's runs above used it)."""
    from distributed import Client

    assert dask_address.startswith("tls://"), "CI's Dask cluster must speak TLS (NEWSBEAM_DASK_TLS)"
    with Client(dask_address, timeout=30) as client:  # the certificate from the environment
        assert client.submit(sum, [1, 2]).result(timeout=60) == 3

    def connects(address: str, keep: tuple[str, ...]) -> bool:
        """A client in a process of its own, with only the `keep` parts of the TLS settings."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("DASK_DISTRIBUTED__COMM__")
               or k.endswith(keep)}
        probe = ("from distributed import Client\n"
                 f"try:\n    Client({address!r}, timeout=5).close()\nexcept Exception:\n    raise SystemExit(1)")
        return subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, timeout=120).returncode == 0

    assert connects(dask_address, ("CA_FILE", "CERT", "KEY", "ENCRYPTION"))
    assert not connects(dask_address, ("CA_FILE", "ENCRYPTION"))  # the authority known, no certificate
    assert not connects(dask_address.replace("tls://", "tcp://"), ())  # no TLS at all


def test_newsbeams_dask_configuration_spares_the_workers_dasks_memory_trimming():
    """deploy/dask/newsbeam.yaml (in the image's /etc/dask, and CI's cluster's) unsets the
    MALLOC_TRIM_THRESHOLD_ that Dask's nanny gives every worker: with it the encoder runs 1.4x
    slower, and a run on such workers says so. Real worker processes, with Dask's defaults and
    with the file."""
    pytest.importorskip("distributed", reason="needs the dask extra")
    probe = ("import logging, os\nfrom distributed import Client, LocalCluster\n"
             "from newsbeam.pipeline.runners import pipeline_options, warn_of_memory_trimming\n"
             "logging.basicConfig(format='%(message)s', force=True)\n"
             "with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster, "
             "Client(cluster) as client:\n"
             "    print(*client.run(lambda: os.environ.get('MALLOC_TRIM_THRESHOLD_')).values())\n"
             "    warn_of_memory_trimming(pipeline_options(['--runner', 'DaskRunner', "
             "'--dask_client_address', cluster.scheduler_address]))")

    def run_on_workers(**environment: str) -> tuple[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DASK_")} | environment
        done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=120,
                              check=True, cwd=ROOT)
        return done.stdout.strip(), "\n".join(line for line in done.stderr.splitlines() if "MALLOC" in line)

    assert run_on_workers() == ("65536 65536", "2 of the 2 Dask workers run with MALLOC_TRIM_THRESHOLD_=65536 "
                                "(Dask's default): their encoder runs 1.4x slower; start them with "
                                "deploy/dask/newsbeam.yaml (docs/deploy.md)")
    assert run_on_workers(DASK_CONFIG=str(ROOT / "deploy" / "dask")) == ("None None", "")
    assert "COPY deploy/dask/newsbeam.yaml /etc/dask/" in (ROOT / "deploy" / "Dockerfile").read_text()


def test_a_backfill_spreads_its_archive_files_over_the_dask_workers(tmp_path, postgres_url, dask_address, s3):
    """Four WARC files of the project's pages, two on a shared folder and two on object storage
    (S3, as docs/deploy.md backfills a month), on a Dask cluster of two workers: each file read
    whole by one worker, both workers at work, every page filed once; a second pass reads
    nothing."""
    from tests.test_backfill import demo_pages
    from tests.warcs import write_warc

    for n in range(4):
        path = write_warc(tmp_path / "archive" / f"part-{n}.warc.gz",
                          [(f"{url}?part={n}", html) for url, html in demo_pages("https://lindenau.example/")])
        if n >= 2:
            s3.put("news-archive", f"cc-news/{path.name}", path)
            path.unlink()
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text("archives:\n  - warc: archive/*.warc.gz\n  - warc: s3://news-archive/cc-news/*.warc.gz\n")
    args = ("--store", postgres_url, "--encoder", "hashing", *dask_args(dask_address), *s3.beam_args)
    first = run(feeds, tmp_path / "dask", *args)
    assert first["archive_pages"] == 28 and len(first["workers"]) == 2
    rows = open_store(postgres_url).db.read().execute("SELECT url FROM articles").fetchall()
    assert len(rows) == len({url for (url,) in rows}) == 28
    second = run(feeds, tmp_path / "dask", *args)
    assert second.get("archive_pages", 0) == 0


def _wait_for_workers(client, count: int) -> None:
    deadline = time.monotonic() + 180
    while len(client.scheduler_info()["workers"]) < count:
        workers = len(client.scheduler_info()["workers"])
        assert time.monotonic() < deadline, f"the cluster has {workers} of its {count} workers"
        time.sleep(0.5)


def _child_of(pid: int) -> int:
    """The one child process of `pid` that is a Python process (a nanny's worker)."""
    children = [child for task in pathlib.Path(f"/proc/{pid}/task").iterdir()
                for child in (task / "children").read_text().split()]  # each thread's children
    workers = [int(child) for child in children
               if b"spawn_main" in pathlib.Path(f"/proc/{child}/cmdline").read_bytes()]
    assert len(workers) == 1, (pid, children)
    return workers[0]


def prism(binary: str) -> tuple[str, ...]:
    return ("--runner", "PrismRunner", "--prism_location", binary)


def test_the_demo_on_prism_matches_the_local_runner(site, tmp_path, prism_binary):
    feeds = write_feeds_file(tmp_path / "feeds.yaml", [site.base_url + f for f in DEMO_FEEDS[:4]])
    run(feeds, tmp_path / "local", *BEAM_ARGS)
    run(feeds, tmp_path / "prism", *prism(prism_binary))
    assert stories_by_urls(str(tmp_path / "prism" / "state.db")) == stories_by_urls(
        str(tmp_path / "local" / "state.db"))



def test_a_streaming_run_on_prism(site, tmp_path, prism_binary):
    check_streaming(site, tmp_path, ("--allow-private-network", "--per-host-delay", "0", *prism(prism_binary)))


def test_reprocess_on_dask_refiles_what_the_local_runner_refiles(site, tmp_path, postgres_url, dask_address):
    """`reprocess` on the Dask cluster (the workers read the captures and extract them) gives
    what it gives on the local runner: the same articles refiled, the same stories; a second
    reprocess on Dask changes nothing."""
    from newsbeam.extraction.settings import ExtractSettings
    from newsbeam.matching.settings import MatchSettings
    from newsbeam.pipeline.reprocess import reprocess

    lines = ["Der Stadtrat von Lindenau hat am Dienstag den neuen Fahrplan der Hafenfähre beschlossen.",
             "Von März an fahren die Fähren alle zwanzig Minuten zwischen Hafen und Ostufer.",
             "Der Betreiber will dafür zwei weitere Boote kaufen, sagte eine Sprecherin am Abend.",
             "Mit Material von dpa und epd."]
    (site.folder / "kurier" / "faehre.html").write_text(
        "<html lang='de'><head><title>Neuer Fahrplan</title></head><body><article><h1>Neuer Fahrplan für die "
        f"Hafenfähre</h1>{''.join(f'<p>{line}</p>' for line in lines)}</article></body></html>", encoding="utf-8")
    (site.folder / "extra.rss").write_text(
        f"<rss version='2.0'><channel><title>K</title><item><title>Neuer Fahrplan für die Hafenfähre</title>"
        f"<link>{site.base_url}kurier/faehre.html</link></item></channel></rss>", encoding="utf-8")
    feeds = write_feeds_file(tmp_path / "feeds.yaml", [site.base_url + f for f in ["extra.rss", *DEMO_FEEDS]])
    run(feeds, tmp_path / "local", *BEAM_ARGS)
    run(feeds, tmp_path / "dask", "--store", postgres_url, *BEAM_ARGS)
    keep_trailers, matching = ExtractSettings(trailer_max_chars=0), MatchSettings()
    local = reprocess(f"sqlite:///{tmp_path / 'local' / 'state.db'}", str(tmp_path / "local" / "captures"),
                      str(tmp_path / "local"), ("jsonl",), keep_trailers, matching)
    on_dask = reprocess(postgres_url, str(tmp_path / "dask" / "captures"), str(tmp_path / "dask"), ("jsonl",),
                        keep_trailers, matching, beam_args=tuple(dask_args(dask_address)))
    assert on_dask == local and local["articles_changed"] >= 1 and local["fields"]["text"] >= 1
    assert stories_by_urls(postgres_url) == stories_by_urls(str(tmp_path / "local" / "state.db"))
    (ferry,) = [s for s in latest_stories(tmp_path / "dask").values() if "Hafenfähre" in s["title"]]
    assert ferry["text"].endswith("Mit Material von dpa und epd.")
    again = reprocess(postgres_url, str(tmp_path / "dask" / "captures"), str(tmp_path / "dask"), ("jsonl",),
                      keep_trailers, matching, beam_args=tuple(dask_args(dask_address)))
    assert again["articles_changed"] == 0
