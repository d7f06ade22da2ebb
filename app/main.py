"""The entry point `flet build` packages (see [tool.flet.app] in pyproject.toml).

The packaged app's folder is this one (the owner fixes the repository's top level, so the entry
file lives here, not at the root), and the project itself is installed into the bundle beside
it, so this runs the very composition root `python -m app` runs.
"""

from app.__main__ import main

if __name__ == "__main__":
    main()
