"""`python -m linkcheck` runs the command."""

from linkcheck.cli import main

main()
