"""The postal adapter (BCCI) and the reference postal service that stands in for the operator."""
