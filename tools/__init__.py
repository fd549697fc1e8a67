"""Developer tools for Feldspar: the test server launcher and the demo runner."""
