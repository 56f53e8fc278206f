"""The store's domain rules as pure functions, called by every backend and tested without a
database: what a change to an endpoint means for its deliveries, how secrets rotate, which
columns a change may set, how failures count and pause, what a lease allows."""
