"""What operators run besides a worker: replay, the fault harness, the demo, the
simulator and what-if."""
