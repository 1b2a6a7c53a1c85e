"""The builders' former name: `python -m crosstrace.build ...` runs `python -m crosstrace.builders ...`.

Kept so that commands written before the rename keep working; the package is `crosstrace.builders`
(a folder named `build/` is what a standard Python .gitignore leaves untracked).
"""

import sys

from crosstrace.builders.__main__ import main

if __name__ == "__main__":
    sys.exit(main())
