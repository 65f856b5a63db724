"""`python -m marketplace.cli`: how `stack` starts its children with the same interpreter."""
from marketplace.cli import main

main()
