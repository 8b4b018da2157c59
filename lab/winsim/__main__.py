import sys

from lab.winsim.server import main

sys.exit(main(sys.argv[1:]))
