"""The ``zohocrm`` command line: thin wrappers over the library (results to stdout, progress to stderr)."""
