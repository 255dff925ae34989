"""The demo: a realistic inventory seeded into the simulated cluster (pvesim), and Proxgate launched on it."""
