"""`RunOptions`: what one run was asked to do, built once (pipeline.cli) from the command line
and the feeds file, then handed whole to every stage. The libraries' settings travel as the
libraries' own frozen objects (FetchSettings, ReaderSettings, ExtractSettings, MatchSettings):
each default is declared once, there."""

from __future__ import annotations

import dataclasses
import os
from typing import Any

from newsbeam.extraction.settings import ExtractSettings
from newsbeam.fetching.addresses import AddressPolicy
from newsbeam.fetching.client import HttpClient
from newsbeam.fetching.settings import FetchSettings
from newsbeam.matching.settings import MatchSettings
from newsbeam.outputs.captures import CaptureWriter, on_object_storage
from newsbeam.outputs.webhooks import Webhook
from newsbeam.schemas import ArchiveSource, FeedSource
from newsbeam.sources.rules import NO_RULES, RuleSet
from newsbeam.sources.settings import ReaderSettings
from newsbeam.state.store import default_store_url

# Port of the local server for a feeds file's `serve` folder (offline demos).
SERVE_PORT = 8737
# --streaming: how often the feeds are polled.
POLL_INTERVAL_S = 3600.0


@dataclasses.dataclass(frozen=True)
class RunOptions:
    feeds: tuple[FeedSource, ...]
    output_dir: str
    archives: tuple[ArchiveSource, ...] = ()
    store_url: str = ""  # default: default_store_url(output_dir)
    # Where the workers keep caches of the store (the vector index). Default: beside a SQLite
    # store's file; OUTPUT/cache for PostgreSQL (a service's home may be read-only).
    cache_dir: str | None = None
    sinks: tuple[str, ...] = ("jsonl",)
    # The libraries' settings
    fetching: FetchSettings = FetchSettings()
    reading: ReaderSettings = ReaderSettings()
    extraction: ExtractSettings = ExtractSettings()
    matching: MatchSettings = MatchSettings()
    # The feeds file's keep and block rules (sources.rules) and receivers (outputs.webhooks)
    rules: RuleSet = NO_RULES
    webhooks: tuple[Webhook, ...] = ()
    # Where every fetched document is kept as WARC (outputs.captures): "" for OUTPUT/captures,
    # "off" for nowhere, or a folder
    captures: str = ""
    # Shares of a pass's work (feeds grouped by host, with their retries): one per worker, so
    # that each worker keeps all of its hosts in flight at once.
    shards: int = 1
    # Threads the encoder's matrix library may use in one worker: the machine's cores shared
    # among the workers on it (more, and the workers' threads fight for the cores).
    encoder_threads: int = 1
    allow_private_network: bool = False
    # A feeds file's `serve` folder, served on 127.0.0.1:serve_port for the run (offline demos).
    serve_dir: str | None = None
    serve_port: int = SERVE_PORT
    # Running
    streaming: bool = False
    poll_interval_s: float = POLL_INTERVAL_S
    stop_after_s: float | None = None
    # A pass is failing (exit code 3) when every feed due failed, or more than this share of them.
    max_failed_share: float | None = None
    beam_args: tuple[str, ...] = ()

    @property
    def served_host(self) -> str | None:
        """The local server of the `serve` folder: opened to the fetcher (and nothing else with
        it) and fetched without delay."""
        return f"http://127.0.0.1:{self.serve_port}" if self.serve_dir else None

    @property
    def store(self) -> str:
        return self.store_url or default_store_url(self.output_dir)

    @property
    def kept_store(self) -> str | None:
        """The store, or None for a stage a user's own pipeline runs without one (no store
        given, no output folder)."""
        return self.store if self.store_url or self.output_dir else None

    @property
    def vector_cache_dir(self) -> str | None:
        """cache_dir, or its default; None: the store's own default (beside a SQLite file; the
        user's cache folder when the output folder is object storage)."""
        if self.cache_dir or (self.store.startswith("postgres") and "://" not in self.output_dir):
            return os.path.abspath(self.cache_dir or os.path.join(self.output_dir, "cache"))
        return None

    @property
    def encoder(self) -> str:
        return self.matching.encoder

    @property
    def captures_dir(self) -> str | None:
        if self.captures == "off":
            return None
        location = self.captures or (f"{self.output_dir.rstrip('/')}/captures" if on_object_storage(self.output_dir)
                                     else os.path.join(self.output_dir, "captures"))
        return location.rstrip("/") if on_object_storage(location) else os.path.abspath(location)

    def capture_writer(self) -> CaptureWriter | None:
        """A writer of this run's captures (None with captures off); on object storage through
        Beam's FileSystems, with the run's Beam options."""
        from newsbeam.transforms.object_storage import BeamStorage  # Beam's filesystems load only when used

        location = self.captures_dir
        if location is None:
            return None
        return CaptureWriter(location, BeamStorage(self.beam_args) if on_object_storage(location) else None)

    def http_client(self, captures: CaptureWriter | None = None) -> HttpClient:
        """The run's HTTP client: its fetching settings, the `serve` folder's server opened to
        it and fetched without delay; each document it fetches handed to `captures`."""
        served = [self.served_host] if self.served_host else []
        keep = None if captures is None else (
            lambda url, sent, response: captures.capture(url, sent, response.status, response.headers, response.body))
        return HttpClient(AddressPolicy(self.allow_private_network, served),
                          dataclasses.replace(self.fetching, unthrottled=frozenset(served)), on_response=keep)

    @classmethod
    def of(cls, **values: Any) -> RunOptions:
        """RunOptions from keyword values, where a library's setting may be given by its own
        name (`per_host_delay_s=0`, `encoder="hashing"`, `publisher_parsers=False`): each goes
        to the settings object that declares it."""
        for name, kind in LIBRARY_SETTINGS.items():
            fields = {field.name for field in dataclasses.fields(kind)}
            mine = {key: values.pop(key) for key in list(values) if key in fields}
            if mine:
                values[name] = dataclasses.replace(values.get(name, kind()), **mine)
        return cls(**values)


# RunOptions' fields that hold a library's settings, and their classes.
LIBRARY_SETTINGS: dict[str, type] = {"fetching": FetchSettings, "reading": ReaderSettings,
                                     "extraction": ExtractSettings, "matching": MatchSettings}
