import sys

from unhazzle.cli import program

sys.exit(program())
