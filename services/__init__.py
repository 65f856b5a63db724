"""The Marketplace services, one package each; `marketplace.registry` lists and finds them."""
