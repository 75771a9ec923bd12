"""`BeamStorage`: files on object storage (s3://, gs://, ...) through Beam's FileSystems, set up
with the run's Beam options (endpoint, keys, region): what the captures' writer, `prune` and
`reprocess` use where the captures are not in a local folder."""

from __future__ import annotations

import shutil
from typing import BinaryIO, cast

from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions

# The extra that gives Beam the filesystem of each scheme newsbeam documents.
EXTRAS = {"gs": "gcs", "s3": "s3"}


class BeamStorage:
    def __init__(self, beam_args: tuple[str, ...] | list[str] = ()) -> None:
        FileSystems.set_options(PipelineOptions(list(beam_args)))

    @staticmethod
    def check(url: str) -> None:
        """ValueError, in a line, when Beam has no filesystem for the URL's scheme here."""
        try:
            FileSystems.get_filesystem(url)
        except ValueError:
            scheme = url.split("://", 1)[0]
            extra = EXTRAS.get(scheme)
            raise ValueError(f"{url}: no filesystem for {scheme}:// is installed"
                             + (f" (pip install 'newsbeam[{extra}]')" if extra else "")) from None

    def put(self, local_path: str, url: str) -> None:
        with open(local_path, "rb") as source, FileSystems.create(
                url, mime_type="application/warc", compression_type=CompressionTypes.UNCOMPRESSED) as target:
            shutil.copyfileobj(source, target, 1 << 20)

    def listing(self, pattern: str) -> list[tuple[str, float | None]]:
        return [(found.path, found.last_updated_in_seconds or None)
                for found in FileSystems.match([pattern])[0].metadata_list]

    def delete(self, urls: list[str]) -> None:
        FileSystems.delete(urls)

    def open(self, url: str) -> BinaryIO:
        return cast(BinaryIO, FileSystems.open(url, compression_type=CompressionTypes.UNCOMPRESSED))
