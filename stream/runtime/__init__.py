"""How a message becomes durable on Faust: the app, the outbox and its commit ordering,
the table store, bulk restores, the watchdog, and the fixes to faust-streaming."""
