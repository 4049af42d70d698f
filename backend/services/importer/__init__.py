"""Moving off Base44 (API.md §8): import exports with nothing lost, and export everything back out.

- `sources`: CSV/JSON files → rows (BOM, quoting, encodings, truncation) · `cells`: one value's rules
- `prepare`: a row → a record to store, or the reason it is rejected · `writer`: the upsert of one entity
- `run`: one entity in a request's session, or many in their own transactions · `refs`: dangling references
- `export`: streamed JSON/CSV in Base44's format · `rehost`: files off Base44's hosts · `users`: users.json
- `api`: the entry points of the HTTP surfaces (admin import, Base44's `importEntities`)
"""

from backend.services.importer.api import import_entities_file, import_entities_upload, import_file, import_json
from backend.services.importer.export import stream_export
from backend.services.importer.report import EntityReport
from backend.services.importer.run import ImportRun, import_records
from backend.services.importer.sources import CsvSource, JsonSource, Row, SourceError
from backend.services.importer.writer import ImportOptions

__all__ = [
    "CsvSource",
    "EntityReport",
    "ImportOptions",
    "ImportRun",
    "JsonSource",
    "Row",
    "SourceError",
    "import_entities_file",
    "import_entities_upload",
    "import_file",
    "import_json",
    "import_records",
    "stream_export",
]
