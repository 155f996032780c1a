"""Development tools: a local AWS stand-in seeded with a realistic organisation (tests and the demo).

Nothing here is imported by the framework or by ships; it needs ``moto`` (the ``dev`` extra).
"""
