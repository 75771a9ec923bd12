"""A feeds file's `serve` folder, served on 127.0.0.1 while a run lasts (offline demos)."""

from __future__ import annotations

import contextlib
import functools
import http.server
import pathlib
import threading
from collections.abc import Iterator
from typing import Any

from newsbeam.pipeline.config import ConfigError


class _ServeHandler(http.server.SimpleHTTPRequestHandler):
    """Files of the served folder only: no dotfiles, nothing a symlink leads out of it to."""

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def send_head(self) -> Any:
        path = pathlib.Path(self.translate_path(self.path))
        root = pathlib.Path(self.directory).resolve()
        relative = path.relative_to(self.directory) if path.is_relative_to(self.directory) else None
        if (relative is None or any(part.startswith(".") for part in relative.parts)
                or not path.resolve().is_relative_to(root)):
            self.send_error(404)
            return None
        return super().send_head()


@contextlib.contextmanager
def serve_folder(folder: str | None, port: int) -> Iterator[None]:
    """Serve `folder` on 127.0.0.1:port for the length of the `with` block (nothing when None).
    The port is fixed (not random) because article URLs, and so the store's memory of them,
    include it."""
    if folder is None:
        yield
        return
    handler = functools.partial(_ServeHandler, directory=str(folder))
    try:
        server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    except OSError as exc:
        raise ConfigError(f"cannot serve {folder} on 127.0.0.1:{port}: {exc.strerror} "
                          "(set serve_port in the feeds file)") from None
    # shutdown() waits for the server's next look at it: every 50 ms, not the default 500
    # (half a second of every run of the demo, most of a run with nothing new)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
