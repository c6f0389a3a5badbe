from __future__ import annotations

import sys

from loader.cli import main

sys.exit(main())
