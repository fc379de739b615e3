"""Buyer notifications: subscriptions, signed webhook deliveries, the notifier process.

The rules (which update a subscription takes, retries, per-declaration queues) are in
``stream.core.webhooks``; here is what touches the network, the clock and Kafka.
"""
