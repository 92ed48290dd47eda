"""I/O shells that feed raw Mastodon payloads to `normalize`: the streaming socket and REST catch-up."""
