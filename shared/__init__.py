"""The kit every Marketplace service is built from."""
