"""What buyers and operators read: the read model, the feed that keeps it current, the
HTTP API, the board, and the API replica."""
