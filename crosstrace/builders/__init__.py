"""Dataset builders: `python -m crosstrace.builders <dataset> ...` writes a hub-ready folder.

Each builder module exposes a dataclass of its arguments (parsed by `crosstrace.cli`, so each
sub-command takes `--config <yaml>` too) and `run(args) -> int`; `__main__` registers them as
sub-commands. A builder never lets a traceback reach the user for bad data: `DataError` is
printed as one line naming the file, line and field.

Owns the build of each published dataset folder. May import the core modules, `engine/`, `mcq/`,
`sources/` and `cards/`; never `training/`, `evaluation/` or `publish/` (tests/test_layering.py).
"""
