import sys

from seqlab.cli.main import main

sys.exit(main())
