"""`python -m loganalysis ...`: the command line lives in ops/cli.py."""

import sys

from loganalysis.ops.cli import main

if __name__ == "__main__":
    sys.exit(main())
