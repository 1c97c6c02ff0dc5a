from kisync.cli import main

if __name__ == "__main__":  # not when a parser process (kisync.parallel) imports it as __mp_main__
    raise SystemExit(main())
