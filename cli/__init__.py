"""The ``stylize`` command line, one module per command.

    stylize run CONTENT STYLE [STYLE ...] -o OUT   stylize in this process (``run.py``);
        folders, globs or --pairs: a batch into a directory (``batch.py``);
        --server URL: on a stylize service, through its client (``remote.py``)
    stylize weights list | fetch | import          the weight files (``weights.py``)
    stylize worker [--queues fast,slow,video]      one queue worker (``worker.py``)
    stylize up [--port P] [--workers N]            the API and N workers (``up.py``)
    stylize-worker ...                             the same as ``stylize worker``

Each module has ``add_command(commands)``, which registers its subparser with a
``handler(args) -> exit code``; ``main.py`` builds the parser from them and turns the
engine's errors into one line on stderr.
"""
