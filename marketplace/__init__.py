"""The Marketplace application: which services it is made of and how they run together.

`shared/` is the kit any service is built from and names none of them; `services/` holds the
services; this package composes them: the registry (names, ports, paths), the `marketplace`
command, `dev`, `stack`, the gateway and the demo story.
"""
