"""Captures: every feed and page a run fetches kept as WARC, whole, and read back by newsbeam
as an archive: history fetched once can be read again."""

from __future__ import annotations

import gzip

from warcio.archiveiterator import ArchiveIterator

from newsbeam.pipeline.cli import main
from tests.conftest import RUN_ARGS, latest_stories, write_feeds_file


def records(folder) -> list:
    found = []
    for path in sorted(folder.glob("*.warc.gz")):
        with open(path, "rb") as stream:
            found += [(r.rec_type, r.rec_headers.get_header("WARC-Target-URI"),
                       r.http_headers.get_statuscode() if r.rec_type == "response" else None)
                      for r in ArchiveIterator(stream)]
    return found


def test_a_runs_fetches_are_captured_whole_and_read_back_as_an_archive(site, tmp_path):
    feeds = write_feeds_file(tmp_path / "feeds.yaml", [site.base_url + "feeds/kurier.rss",
                                                       site.base_url + "feeds/herald.rss"])
    out = tmp_path / "out"
    assert main(["run", "--feeds", str(feeds), "--output", str(out), *RUN_ARGS]) == 0
    live = latest_stories(out)
    captures = out / "captures"
    assert not list(captures.glob("*.open"))  # every file whole
    found = records(captures)
    responses = {url.removeprefix(site.base_url) for kind, url, status in found if kind == "response"}
    pages = {path for path, _ in site.requests if path.endswith(".html")}
    assert {"feeds/kurier.rss", "feeds/herald.rss"} <= responses
    assert {path.lstrip("/") for path in pages} <= responses
    assert sum(kind == "request" for kind, _, _ in found) == sum(kind == "response" for kind, _, _ in found)
    for path in captures.glob("*.warc.gz"):
        gzip.decompress(path.read_bytes())  # gzip members, each whole

    # the captures as a backfill source, into a store of its own: the same stories
    (tmp_path / "again.yaml").write_text(f"archives:\n  - warc: {captures}/*.warc.gz\n")
    again = tmp_path / "again"
    assert main(["run", "--feeds", str(tmp_path / "again.yaml"), "--output", str(again), *RUN_ARGS]) == 0
    assert sorted(s["title"] for s in latest_stories(again).values()) == sorted(s["title"] for s in live.values())


def test_captures_can_be_turned_off(site, tmp_path):
    feeds = write_feeds_file(tmp_path / "feeds.yaml", [site.base_url + "feeds/herald.rss"])
    out = tmp_path / "out"
    assert main(["run", "--feeds", str(feeds), "--output", str(out), "--captures", "off", *RUN_ARGS]) == 0
    assert not (out / "captures").exists() and latest_stories(out)


def test_captures_on_object_storage_are_put_whole_read_by_reprocess_and_pruned(site, tmp_path, s3, capsys):
    """`--captures s3://...` through Beam's S3 filesystem, against a local server that speaks
    S3: each file is written whole beside the run and put as one object; reprocess reads them
    there; prune removes them."""
    from newsbeam.outputs.captures import outbox, prune_captures
    from newsbeam.transforms.object_storage import BeamStorage

    s3.client.create_bucket(Bucket="news-captures")
    location = f"s3://news-captures/{tmp_path.name}"
    feeds = write_feeds_file(tmp_path / "feeds.yaml", [site.base_url + "feeds/kurier.rss"])
    out = tmp_path / "out"
    assert main(["run", "--feeds", str(feeds), "--output", str(out), "--captures", location, *RUN_ARGS,
                 *s3.beam_args]) == 0
    assert not (out / "captures").exists() and not list(outbox(location).iterdir())  # all put, none left
    keys = [item["Key"] for item in s3.client.list_objects_v2(Bucket="news-captures")["Contents"]]
    assert keys and all(key.endswith(".warc.gz") for key in keys)
    for key in keys:
        body = s3.client.get_object(Bucket="news-captures", Key=key)["Body"].read()
        assert gzip.decompress(body)  # whole gzip members
    fetched = {url.removeprefix(site.base_url) for key in keys for record in ArchiveIterator(
        s3.client.get_object(Bucket="news-captures", Key=key)["Body"]) if record.rec_type == "response"
        for url in [record.rec_headers.get_header("WARC-Target-URI")]}
    assert "feeds/kurier.rss" in fetched and any(path.endswith(".html") for path in fetched)

    capsys.readouterr()
    assert main(["reprocess", "--output", str(out), "--captures", location, "--dry-run", *s3.beam_args]) == 0
    said = capsys.readouterr().out
    assert f"{sum(path.endswith('.html') for path in fetched)} captured pages" in said
    assert "0 articles would change" in said

    assert prune_captures(location, 1, BeamStorage(s3.beam_args)) == 0  # none older than a day
    assert prune_captures(location, 0, BeamStorage(s3.beam_args)) == len(keys)
    assert not s3.client.list_objects_v2(Bucket="news-captures").get("Contents")
