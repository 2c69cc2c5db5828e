"""`python -m assetgen.render`: the quick-look portrait command (assetgen/render/quicklook.py)."""

import sys

from assetgen.render.quicklook import main

sys.exit(main())
