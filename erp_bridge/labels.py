"""One label file out of ML's answers to several ``/shipment_labels`` calls.

``pdf``: one PDF, the pages of every call in order (ML's own file untouched when there was one
call). ``zpl2``: ML answers a ZIP holding a text file of ``^XA ... ^XZ`` blocks; the ERP gets
the ZPL itself, every block of every call in order, ready to send to a label printer.
"""

import io
import zipfile
from collections.abc import Sequence

from attrs import frozen
from pypdf import PdfReader, PdfWriter
from pypdf.errors import PdfReadError

from connector_core.domain.errors import MarketplaceUnavailable

MAX_ZPL_BYTES = 64 * 1024 * 1024  # what one ZIP of ML's may expand to


@frozen
class LabelFile:
    content: bytes
    content_type: str
    filename: str


def _zpl(archive: bytes) -> bytes:
    try:
        with zipfile.ZipFile(io.BytesIO(archive)) as zipped:
            parts = []
            total = 0
            for info in zipped.infolist():
                if info.is_dir():
                    continue
                total += info.file_size
                if total > MAX_ZPL_BYTES:
                    raise MarketplaceUnavailable("ML's ZPL labels expand past 64 MB")
                parts.append(zipped.read(info).rstrip(b"\r\n") + b"\n")
            return b"".join(parts)
    except zipfile.BadZipFile as exc:
        if archive.lstrip().startswith(b"^XA"):  # the ZPL itself, not zipped
            return archive
        raise MarketplaceUnavailable(f"ML's zpl2 labels are not a ZIP ({exc})") from exc


def _merged_pdf(files: Sequence[bytes]) -> bytes:
    if len(files) == 1:
        return files[0]
    writer = PdfWriter()
    try:
        for content in files:
            for page in PdfReader(io.BytesIO(content)).pages:
                writer.add_page(page)
    except PdfReadError as exc:
        raise MarketplaceUnavailable(f"ML's PDF labels cannot be read ({exc})") from exc
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def label_file(files: Sequence[bytes], label_format: str) -> LabelFile:
    if label_format == "pdf":
        return LabelFile(_merged_pdf(files), "application/pdf", "labels.pdf")
    return LabelFile(b"".join(_zpl(f) for f in files), "text/plain; charset=utf-8",
                     "labels.zpl")
