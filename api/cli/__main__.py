"""``python -m api.cli``: the ``hushdb`` command."""

from api.cli import main

if __name__ == "__main__":  # importing this module (a test walking the package) runs nothing
    main()
