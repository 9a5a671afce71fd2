"""`python -m monitor` runs the same command-line interface as the `monitor` script."""

from monitor.cli import main

if __name__ == "__main__":
    main()
