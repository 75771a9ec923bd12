"""Beam's runner for a run, read through `PipelineOptions` views: the default runner, short
names, how many workers the runner will have (one shard of work per worker), and whether a Dask
cluster's workers are set up as newsbeam needs them."""

from __future__ import annotations

import contextlib
import logging
import os
import pathlib

from apache_beam.options.pipeline_options import DirectOptions, PipelineOptions, StandardOptions

log = logging.getLogger(__name__)

# The runner when none is named: Beam's FnApiRunner, the engine the DirectRunner falls back to.
# The DirectRunner would first try to download its Prism binary from a release page at every
# run; newsbeam never fetches code at run time.
DEFAULT_RUNNER = "FnApiRunner"
# Short names for runners Beam itself only knows by their module path.
RUNNER_NAMES = {"DaskRunner": "apache_beam.runners.dask.dask_runner.DaskRunner"}
# Runners that run every worker on this machine.
LOCAL_RUNNERS = (DEFAULT_RUNNER, "DirectRunner", "PrismRunner", "BundleBasedDirectRunner")


def pipeline_options(beam_args: tuple[str, ...] | list[str], streaming: bool = False,
                     shards: int | None = None) -> PipelineOptions:
    """Beam's options from the arguments newsbeam passes on: the default runner when none is
    named, runners' short names, streaming, and (Dask) one partition per shard."""
    options = PipelineOptions(list(beam_args))
    standard = options.view_as(StandardOptions)
    runner = standard.runner or DEFAULT_RUNNER
    standard.runner = RUNNER_NAMES.get(runner, runner)
    standard.streaming = streaming
    if is_dask(options) and shards:
        dask = dask_options(options)
        if dask.npartitions is None and dask.partition_size is None:
            # The Dask runner runs each partition of the first collection on one worker and
            # never moves work after that (its Reshuffle does nothing): one partition per shard.
            dask.npartitions = shards
    return options


def runner_name(options: PipelineOptions) -> str:
    """The runner's class name (FnApiRunner, DaskRunner, ...)."""
    runner = options.view_as(StandardOptions).runner or DEFAULT_RUNNER
    return runner.rsplit(".", 1)[-1]


def is_dask(options: PipelineOptions) -> bool:
    return runner_name(options) == "DaskRunner"


def is_cluster(options: PipelineOptions) -> bool:
    """Do the workers run on other machines (or could they)?"""
    return runner_name(options) not in LOCAL_RUNNERS


def unknown_options(beam_args: tuple[str, ...] | list[str]) -> list[str]:
    """The flags among the arguments passed on to Beam that neither Beam's pipeline options
    nor an installed runner's know (Beam itself only logs "Discarding unparseable args" and
    runs on: a mistyped --prune in a crontab would never be noticed)."""
    unknown = _unknown_flags(beam_args)
    if unknown:  # perhaps the Dask runner's (with the dask extra): its options load with it, a
        # third of a second that a run with only Beam's own flags does not pay
        with contextlib.suppress(ImportError):
            from apache_beam.runners.dask.dask_runner import DaskOptions  # noqa: F401
        unknown = _unknown_flags(beam_args)
    return unknown


def _unknown_flags(beam_args: tuple[str, ...] | list[str]) -> list[str]:
    options = PipelineOptions(list(beam_args))
    unknown = set(options.get_all_options(retain_unknown_options=True)) - set(options.get_all_options())
    flags = [arg.split("=", 1)[0] for arg in beam_args if arg.startswith("-")]
    return [flag for flag in flags if flag.lstrip("-").replace("-", "_") in unknown]


def dask_options(options: PipelineOptions):  # -> DaskOptions (needs the dask extra)
    from apache_beam.runners.dask.dask_runner import DaskOptions

    return options.view_as(DaskOptions)


def warn_of_memory_trimming(options: PipelineOptions) -> None:
    """Warn when Dask workers run with MALLOC_TRIM_THRESHOLD_ set, as Dask's nanny sets it
    unless told otherwise: it makes their encoder 1.4x slower (benchmarks/RESULTS.md).
    deploy/dask/newsbeam.yaml, which the image carries, unsets it."""
    address = dask_options(options).address if is_dask(options) else None
    if not address:
        return
    from distributed import Client

    try:
        with Client(address, timeout=30) as client:
            settings = client.run(_malloc_trim_threshold)
    except Exception as exc:  # whatever fails here, the check must not stop the run it advises
        log.info("could not ask the Dask workers for their memory settings: %s", exc)
        return
    trimming = [value for value in settings.values() if value is not None]
    if trimming:
        log.warning("%d of the %d Dask workers run with MALLOC_TRIM_THRESHOLD_=%s (Dask's default): their encoder "
                    "runs 1.4x slower; start them with deploy/dask/newsbeam.yaml (docs/deploy.md)",
                    len(trimming), len(settings), trimming[0])


def _malloc_trim_threshold() -> str | None:
    """On a worker: its MALLOC_TRIM_THRESHOLD_."""
    return os.environ.get("MALLOC_TRIM_THRESHOLD_")


def worker_count(options: PipelineOptions) -> int:
    """How many workers the runner will run the graph on, so that a pass makes one shard per
    worker: each worker then keeps all of its hosts in flight at once. The local runner says
    so in --direct_num_workers; a Dask cluster is asked how many worker threads it has."""
    if is_dask(options):
        dask = dask_options(options)
        if dask.npartitions:
            return max(1, dask.npartitions)
        if dask.address:
            from distributed import Client

            with Client(dask.address, timeout=30) as client:
                return max(1, sum(client.nthreads().values()))
        return 1
    if runner_name(options) not in LOCAL_RUNNERS:
        return 1
    workers = options.view_as(DirectOptions).direct_num_workers
    if workers == 0:  # Beam's "as many as there are cores"
        return usable_cores()
    return max(1, workers or 1)


def encoder_threads(options: PipelineOptions) -> int:
    """Matrix-library threads per worker: this machine's cores over the local runner's worker
    processes; one on other runners, whose machines and workers per machine newsbeam cannot see
    (one single-threaded worker per core is how they are usually run)."""
    if runner_name(options) not in LOCAL_RUNNERS:
        return 1
    return max(1, usable_cores() // worker_count(options))


def usable_cores() -> int:
    """The cores this process may run on: the CPUs it is pinned to (taskset, a cpuset), fewer
    when a cgroup quota caps it (a container's CPU limit). `os.cpu_count()` counts the whole
    machine: a worker pinned to one core that starts two matrix-library threads runs 4x slower
    than with one (measured: 100 s against 25 s for benchmarks/backfill.py's archive)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    try:
        # cgroup v2: "max 100000" (no cap) or "150000 100000" (1.5 cores)
        quota, period = pathlib.Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            cores = min(cores, max(1, int(quota) // int(period)))
    except (OSError, ValueError):
        pass
    return max(1, cores)
