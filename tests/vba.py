"""Reading the VBA source of a workbook's ``vbaProject.bin`` (tests only): the OLE
container through olefile, each module's source decompressed with MS-OVBA's algorithm
([MS-OVBA] 2.4.1, "Compression and Decompression")."""

from __future__ import annotations

import io
import zipfile

import olefile


def decompress(data: bytes) -> bytes:
    """An MS-OVBA compressed container (``data[0] == 1``) -> the bytes it holds."""
    if not data or data[0] != 1:
        raise ValueError("not a compressed container")
    out = bytearray()
    pos = 1
    while pos + 2 <= len(data):
        header = int.from_bytes(data[pos:pos + 2], "little")
        pos += 2
        if (header >> 12) & 0b111 != 0b011:
            raise ValueError("bad chunk signature")
        end = min(pos + (header & 0x0FFF) + 1, len(data))
        start = len(out)
        if not header >> 15:                      # an uncompressed chunk: 4,096 bytes
            out += data[pos:pos + 4096]
            pos += 4096
            continue
        while pos < end:
            flags = data[pos]
            pos += 1
            for bit in range(8):
                if pos >= end:
                    break
                if not (flags >> bit) & 1:
                    out.append(data[pos])
                    pos += 1
                    continue
                token = int.from_bytes(data[pos:pos + 2], "little")
                pos += 2
                bits = max((len(out) - start - 1).bit_length(), 4)
                offset = (token >> (16 - bits)) + 1
                for _ in range((token & (0xFFFF >> bits)) + 3):
                    out.append(out[-offset])
    return bytes(out)


def modules(book) -> dict[str, str]:
    """Module name -> VBA source of a macro-enabled workbook."""
    with zipfile.ZipFile(book) as z:
        ole = olefile.OleFileIO(io.BytesIO(z.read("xl/vbaProject.bin")))
    out = {}
    for entry in ole.listdir():
        if entry[0] != "VBA" or entry[-1] in ("dir", "_VBA_PROJECT") or \
                entry[-1].startswith("__SRP"):
            continue
        raw = ole.openstream(entry).read()
        # the source follows the module's p-code: the first container that decompresses
        # into text starting with its attributes
        for i in range(len(raw)):
            if raw[i] != 1:
                continue
            try:
                text = decompress(raw[i:])
            except (ValueError, IndexError):
                continue
            if text.startswith(b"Attribute VB_Name"):
                out[entry[-1]] = text.decode("latin-1")
                break
    return out
