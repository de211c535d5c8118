"""One module per CLI verb; each exposes `register(subparsers)` and keeps imports lazy."""
