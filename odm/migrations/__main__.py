"""``python -m odm.migrations``: see :mod:`odm.migrations.cli`."""

from odm.migrations.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
