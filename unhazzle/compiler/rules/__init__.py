"""The rule tables as data (sizing, prices, latency, cluster, questions), loaded and checked once."""
