"""`python -m examples.webapp --simulate` runs the demo (same as examples/webapp/app.py)."""

import sys

from examples.webapp.app import main

sys.exit(main())
