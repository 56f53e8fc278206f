"""Each seed's product moved onto hookwise: set up through the HTTP API only, checked against
the seed's documented webhook bodies (../shared/seeds/)."""
