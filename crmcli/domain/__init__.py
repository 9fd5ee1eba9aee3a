"""The rules and the Python API: records, references, pipelines, follow-ups, search, dedupe."""
