"""edXML (QCVN 102:2016/BTTTT) packages: read them into Truc documents and write them back.

`parse_edxml` refuses what could hurt a receiver (DTDs, entities, oversized or too deeply
nested packages) with an `EdxmlError` that names the element and the reason; elements Truc
does not model are carried opaquely so that `write_edxml` puts them back where they were.
"""

from adapters.edxml.errors import EdxmlError
from adapters.edxml.reader import MAX_EDXML_BYTES, ParsedPackage, parse_edxml
from adapters.edxml.schema import NS
from adapters.edxml.writer import write_edxml

__all__ = ["MAX_EDXML_BYTES", "NS", "EdxmlError", "ParsedPackage", "parse_edxml", "write_edxml"]
