"""`python -m bench`: run the benchmark (options: `python -m bench --help`)."""

if __name__ == "__main__":
    # Imported here, not above: worker processes started with "spawn" import this module too.
    from bench.cli import main

    main()
