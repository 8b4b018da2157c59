import sys

from lab.mfpsim.web import main

sys.exit(main(sys.argv[1:]))
