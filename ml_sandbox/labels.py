"""Shipping labels as ``GET /shipment_labels`` returns them: a PDF (one page per shipment) or
ZPL II for Zebra printers, which ML sends zipped (``Etiqueta de envio.txt`` inside a ZIP, as
integrators unpack it). Both are written by hand: a few hundred bytes, no dependency, and a
real PDF (header, objects, cross-reference table with exact offsets, trailer) that readers
open."""

import io
import zipfile
from typing import Any

PAGE = (288, 432)  # 4 x 6 inches, the thermal label size, in points
ZPL_FILE = "Etiqueta de envio.txt"


def label_lines(shipment: dict[str, Any]) -> list[str]:
    """What a label says: shipment, tracking, receiver and address."""
    receiver = shipment["receiver"]
    address = receiver["address"]
    return [
        "Mercado Envios (sandbox)",
        f"Envio {shipment['id']}  {shipment['logistic_type']}",
        f"Tracking {shipment.get('tracking_number') or '-'}",
        f"Pedido {', '.join(str(o) for o in shipment['order_ids'])}",
        f"Para: {receiver['name']}",
        f"{address['street_name']} {address['street_number']}",
        f"{address['zip_code']} {address['city']}, {address['state']}",
    ]


def pdf_document(pages: list[list[str]]) -> bytes:
    """A PDF 1.4 file with one page of Helvetica text lines per entry of ``pages``."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>"]
    kids = " ".join(f"{4 + 2 * n} 0 R" for n in range(len(pages)))
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode())
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica "
                   b"/Encoding /WinAnsiEncoding >>")
    for n, lines in enumerate(pages):
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE[0]} {PAGE[1]}] "
            f"/Resources << /Font << /F1 3 0 R >> >> /Contents {5 + 2 * n} 0 R >>".encode())
        stream = _page_stream(lines)
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)
    return bytes(out)


def _page_stream(lines: list[str]) -> bytes:
    parts = [b"0.8 w 12 12 264 408 re S", b"BT /F1 16 Tf 24 390 Td"]
    for n, line in enumerate(lines):
        if n == 1:
            parts.append(b"/F1 11 Tf")
        parts.append(b"(%s) Tj 0 -22 Td" % _pdf_text(line))
    parts.append(b"ET")
    return b"\n".join(parts)


def _pdf_text(text: str) -> bytes:
    raw = text.encode("cp1252", errors="replace")
    return raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def zpl_document(labels: list[tuple[str, list[str]]]) -> str:
    """ZPL II: one ``^XA ... ^XZ`` block per ``(tracking, lines)``, with a Code 128 barcode."""
    blocks = []
    for tracking, lines in labels:
        fields = [f"^FO40,{40 + 44 * n}^A0N,{34 if n == 0 else 26},{34 if n == 0 else 26}"
                  f"^FD{_zpl_text(line)}^FS" for n, line in enumerate(lines)]
        barcode = f"^FO40,{80 + 44 * len(lines)}^BY2^BCN,100,Y,N,N^FD{_zpl_text(tracking)}^FS"
        blocks.append("\n".join(["^XA", "^CI28", *fields, barcode, "^XZ"]))
    return "\n".join(blocks) + "\n"


def _zpl_text(text: str) -> str:
    return text.replace("^", " ").replace("~", " ")


def zipped(name: str, text: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(zipfile.ZipInfo(name, date_time=(2025, 1, 1, 0, 0, 0)),
                         text.encode("utf-8"))
    return buffer.getvalue()
