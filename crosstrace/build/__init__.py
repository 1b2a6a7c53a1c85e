"""Dataset builders: `python -m crosstrace.build <dataset> ...` writes a hub-ready folder.

Each builder module exposes `add_arguments(parser)` and `run(args) -> int`; `__main__`
registers them as sub-commands. A builder never lets a traceback reach the user for bad data:
`DataError` is printed as one line naming the file, line and field.
"""
