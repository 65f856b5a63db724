"""The Marketplace application: which services exist and how they are put together."""
