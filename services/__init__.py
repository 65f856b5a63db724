"""The five Marketplace services."""
