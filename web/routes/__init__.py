"""Routes by feature: each module has a `router`."""
