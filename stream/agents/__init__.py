"""Thin Faust adapters, one module per flow: decode, call the core, write tables, hand
outputs to the outbox."""
