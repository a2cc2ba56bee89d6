"""`python -m tfgan_impl` runs the `tfgan-impl` command."""
import sys

from tfgan_impl.cli import main

sys.exit(main())
