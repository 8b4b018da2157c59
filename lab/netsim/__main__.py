"""`python -m lab.netsim SPEC.json`: serve the devices of a spec (see lab.netsim.core.load_spec)."""

import sys

from lab.netsim.core import main

sys.exit(main())
