"""newsbeam on a Dask cluster: 2 workers against 1, and against the local runner.

    python benchmarks/cluster.py [--pages-per-site 20] [--sites 50]

The corpus of benchmarks/run.py (many sites on loopback addresses, distinct real texts), default
politeness. For each of: the local runner with one worker, a Dask cluster of one worker, a Dask
cluster of two workers (each started fresh by .ci/start-dask on 127.0.0.1, stopped after), a
`newsbeam run` from a cold PostgreSQL store (NEWSBEAM_BENCH_POSTGRES=URL) or SQLite store
otherwise. Printed: seconds, articles per second, and the speed-up of 2 Dask workers over 1.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.run import fresh_postgres, newsbeam_run  # noqa: E402
from tests.many_sites import ManySites  # noqa: E402


def start_dask(workers: int, threads: int) -> str:
    env = {**os.environ, "NEWSBEAM_DASK_WORKERS": str(workers), "NEWSBEAM_DASK_THREADS": str(threads)}
    return subprocess.run([str(ROOT / ".ci" / "start-dask")], env=env, capture_output=True, text=True,
                          check=True).stdout.strip()


def stop_dask(address: str) -> None:
    from distributed import Client

    with Client(address, timeout=30) as client:
        client.shutdown()  # the scheduler and its workers


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sites", type=int, default=50)
    parser.add_argument("--pages-per-site", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2,
                        help="threads per Dask worker: a worker runs one step of one shard per thread at a time")
    args = parser.parse_args()
    postgres = os.environ.get("NEWSBEAM_BENCH_POSTGRES")
    shape = [args.pages_per_site] * args.sites
    pages = sum(shape)
    sites = ManySites(shape)
    seconds: dict[str, float] = {}
    print(f"{'run':<18} {'seconds':>8} {'art/s':>7}   ({pages} pages on {args.sites} hosts)")
    try:
        for name, workers in (("local x1", 0), ("dask x1", 1), ("dask x2", 2)):
            address = start_dask(workers, args.threads) if workers else None
            extra = ("--runner", "DaskRunner", "--dask_client_address", address) if address else ()
            try:
                with tempfile.TemporaryDirectory() as folder:
                    store = fresh_postgres(postgres) if postgres else None
                    elapsed, _, summary, _ = newsbeam_run(sites.feed_urls(), pathlib.Path(folder), 1, store, extra)
                    assert summary["articles_extracted"] >= pages * 0.98, summary
            finally:
                if address:
                    stop_dask(address)
            seconds[name] = elapsed
            print(f"{name:<18} {elapsed:8.1f} {pages / elapsed:7.1f}   workers busy {len(summary['workers'])}",
                  flush=True)
    finally:
        sites.close()
    print(f"2 Dask workers over 1: x{seconds['dask x1'] / seconds['dask x2']:.2f}; "
          f"1 Dask worker against the local runner: {seconds['local x1'] / seconds['dask x1']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
