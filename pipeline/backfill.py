"""Which WARC files a pass reads: the archives of the feeds file (local paths by their own
folders; gs://, s3://, hdfs:// through Beam's FileSystems, with Beam's extras), less the files
the store says were read to their end."""

from __future__ import annotations

import contextlib
import glob
import logging
import os
import re
import stat
import urllib.parse

from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions

from newsbeam.pipeline.config import ConfigError
from newsbeam.schemas import ArchiveFile, ArchiveSource
from newsbeam.state.store import Store

log = logging.getLogger("newsbeam")
_GLOB = re.compile(r"[*?\[]")


def matched_files(source: ArchiveSource, beam_options: PipelineOptions) -> dict[str, int]:
    """The files an archive's pattern matches now (path -> size). A scheme no filesystem of
    Beam's knows, or a local folder that does not exist, is a configuration mistake; a pattern
    that matches nothing yet is not (an archive folder that fills up): a warning. Object
    storage takes its endpoint and credentials from the run's Beam options (`--s3_endpoint_url`,
    ...)."""
    FileSystems.set_options(beam_options)
    scheme = urllib.parse.urlsplit(source.pattern).scheme
    if not scheme or len(scheme) == 1:  # a local path: the folder before the first wildcard must exist
        folder = os.path.dirname(_GLOB.split(source.pattern, 1)[0])
        if folder and not os.path.isdir(folder):
            raise ConfigError(f"archive {source.pattern}: folder {folder} does not exist")
        files = _local_files(source.pattern)
        if not files:
            log.warning("archive %s matches no file yet", source.pattern)
        return files
    try:
        result = FileSystems.match([source.pattern])[0]
    except ValueError as exc:
        raise ConfigError(f"archive {source.pattern}: {str(exc).split(',')[0]}") from None
    except Exception as exc:  # the filesystem's own failure (credentials, network): one line
        reason = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"archive {source.pattern}: cannot list it: {reason}") from None
    files = {m.path: m.size_in_bytes for m in result.metadata_list}
    if not files and scheme == "s3":
        _check_bucket(source.pattern, beam_options)
    if not files:
        log.warning("archive %s matches no file yet", source.pattern)
    return files


def _local_files(pattern: str) -> dict[str, int]:
    """The regular files a local pattern matches, folder by folder of the pattern (Python's
    glob: `*` within a folder, `**` across folders). Beam's local listing walks every folder
    below the pattern's fixed prefix: `/*.warc.gz` would walk the whole filesystem, every pass."""
    files = {}
    for path in sorted(glob.glob(pattern, recursive=True)):
        with contextlib.suppress(OSError):
            status = os.stat(path)
            if stat.S_ISREG(status.st_mode):
                files[path] = status.st_size
    return files


def _check_bucket(pattern: str, beam_options: PipelineOptions) -> None:
    """Beam's S3 filesystem lists a bucket that does not exist as an empty one; a missing
    bucket is a mistake, as a missing local folder is, where an empty prefix is a folder that
    fills up. Asked through the client Beam built from the run's options (its endpoint and
    credentials)."""
    from apache_beam.io.aws.s3io import S3IO, parse_s3_path

    bucket = parse_s3_path(pattern, object_optional=True)[0]
    try:
        S3IO(options=beam_options).client.client.head_bucket(Bucket=bucket)
    except Exception as exc:  # botocore's ClientError carries the HTTP status
        status = getattr(exc, "response", {}).get("ResponseMetadata", {}).get("HTTPStatusCode")
        if status == 404:
            raise ConfigError(f"archive {pattern}: bucket {bucket} does not exist") from None
        log.debug("could not ask whether bucket %s exists: %s", bucket, exc)


def unread_files(sources: tuple[ArchiveSource, ...], store: Store,
                 beam_options: PipelineOptions) -> tuple[ArchiveFile, ...]:
    """The files of every archive with records left to read, with their archive's filters."""
    found: dict[str, ArchiveFile] = {}
    for source in sources:
        for path, size in store.archives.unread(matched_files(source, beam_options)).items():
            found.setdefault(path, ArchiveFile(url=path, size=size, hosts=source.hosts,
                                               languages=source.languages, since=source.since))
    return tuple(found.values())
