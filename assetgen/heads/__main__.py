"""``python -m assetgen.heads``: the same as ``python -m assetgen.heads.samples`` (write sample heads)."""

from assetgen.heads.samples import main

if __name__ == "__main__":
    raise SystemExit(main())
