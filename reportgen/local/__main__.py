"""``python -m reportgen.local serve``: run the CloudWatch stand-in until SIGTERM or Ctrl-C."""

import sys

from reportgen.local.cli import main

# Worker processes re-import the main module under another name; only the real entry point runs.
if __name__ == "__main__":
    sys.exit(main())
