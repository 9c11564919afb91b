"""chatguard benchmarks."""
