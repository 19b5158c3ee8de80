"""The ingest stage's library: manifest checks, line numbering, parsing, validation rules
and the frames written to bronze. Pure ``DataFrame -> DataFrame`` transformations live in
:mod:`.lines`, :mod:`.parse`, :mod:`.validate` and :mod:`.output`; :mod:`.reader`,
:mod:`.fs` and :mod:`.tables` do the reading and writing the stage runner
(:mod:`pseudolink.stages.ingest`) calls. Design: docs/ingest.md.

Deliberately imports nothing, so ``pseudolink.config`` can import
:class:`pseudolink.ingest.settings.IngestSettings` without an import cycle."""
