"""``watch``: run the monitor by itself, on an inbox of batches or on a schedule.

Owns batch discovery (a folder or fsspec prefix whose sub-folders are batches; complete after a
settle time or a marker file), the cron schedule (APScheduler), the claims that make each batch
run exactly once (rows in the history store), clean shutdown on SIGTERM, and structured logs.
Each batch goes through :class:`visiondrift.app.Monitor`; ``watch`` adds no second workflow.

May import: the application core and everything below it. Must not import: the CLI, the demo.
"""
