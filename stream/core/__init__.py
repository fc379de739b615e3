"""The rules of the contract as plain Python: no Faust, no Kafka, no clock, no I/O."""
