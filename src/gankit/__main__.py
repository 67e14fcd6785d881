"""`python -m gankit` (and so `torchrun -m gankit train ...`)."""

from gankit.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
