"""A worker, wired (the agents on the Faust app, and the read side), and run."""
