"""API keys: random, shown once, stored hashed, scoped ``read`` < ``write`` < ``admin``."""
