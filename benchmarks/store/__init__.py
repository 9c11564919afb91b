"""Store micro-benchmark: the cost of one ``Store`` call."""
