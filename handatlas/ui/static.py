"""Static files gzipped once per process, not on every request.

Panel's and Bokeh's scripts and styles are static files; with ``compress_response`` Tornado
compresses each response again as it goes out: ≈ 80 ms of the event loop for a page's 3.2 MB of
script, while the page waits for it and every other session's messages wait too.
:class:`GzippedOnce` keeps one gzipped copy of each compressible file (per file and modification
time) and sends it with ``Content-Encoding: gzip`` to browsers that accept it; anything else
(range requests, other types, clients without gzip) goes through Tornado's handler unchanged.
:func:`gzip_static_files` puts it in front of every static file handler of a server served with
``compress_response``.
"""

from __future__ import annotations

import gzip
import os
from typing import ClassVar

from tornado.web import Application, StaticFileHandler

#: Content types sent gzipped (as Tornado's ``GZipContentEncoding`` chooses them, plus SVG).
COMPRESSIBLE = frozenset({"application/javascript", "application/x-javascript", "text/javascript",
                          "text/css", "application/json", "image/svg+xml", "text/plain", "text/html"})
#: zlib level of the kept copies (Tornado's own level: the first page pays for them as it did).
LEVEL = 6


class GzippedOnce(StaticFileHandler):
    """A static file handler that sends compressible files from a kept gzipped copy."""

    _kept: ClassVar[dict[tuple[str, float], bytes]] = {}
    _gzipping = False

    def _body(self) -> bytes:
        key = (self.absolute_path, os.path.getmtime(self.absolute_path))
        body = self._kept.get(key)
        if body is None:
            with open(self.absolute_path, "rb") as file:
                body = gzip.compress(file.read(), compresslevel=LEVEL, mtime=0)
            self._kept[key] = body
        return body

    async def get(self, path: str, include_body: bool = True) -> None:
        """Tornado's ``StaticFileHandler.get`` for a whole compressible file to a client that takes gzip,
        with the kept copy as the body; anything else as Tornado answers it."""
        headers = self.request.headers
        if "gzip" not in headers.get("Accept-Encoding", "") or "Range" in headers:
            return await super().get(path, include_body)
        self.path = self.parse_url_path(path)
        absolute = self.get_absolute_path(self.root, self.path)
        self.absolute_path = self.validate_absolute_path(self.root, absolute)
        if self.absolute_path is None:
            return None
        if (self.get_content_type() or "").split(";")[0].strip() not in COMPRESSIBLE:
            return await super().get(path, include_body)
        self._gzipping = True
        self.modified = self.get_modified_time()
        self.set_headers()
        if self.should_return_304():
            self.set_status(304)
            return None
        body = self._body()
        self.set_header("Content-Length", len(body))
        if include_body:
            self.write(body)
        return None

    def set_extra_headers(self, path: str) -> None:
        super().set_extra_headers(path)  # (``compress_response`` adds ``Vary: Accept-Encoding``)
        if self._gzipping:
            self.set_header("Content-Encoding", "gzip")  # (Tornado's transform leaves it alone)

    def compute_etag(self) -> str | None:
        etag = super().compute_etag()
        return f'{etag[:-1]}-gzip"' if etag and self._gzipping else etag


def gzip_static_files(application: Application) -> None:
    """Put :class:`GzippedOnce` in front of each static file handler of ``application``'s routes."""
    made: dict[type, type] = {}
    for router in (application.wildcard_router, application.default_router):
        for rule in router.rules:
            target = rule.target
            if isinstance(target, type) and issubclass(target, StaticFileHandler) and not issubclass(
                    target, GzippedOnce):
                if target not in made:
                    made[target] = type(f"GzippedOnce{target.__name__}", (GzippedOnce, target), {})
                rule.target = made[target]
