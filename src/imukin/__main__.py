"""``python -m imukin``: the same as the ``imukin`` command."""
from imukin.cli import main

raise SystemExit(main())
