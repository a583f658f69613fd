import sys

from unhazzle.cli import main

sys.exit(main())
