"""Population look-ups (issue 7): the payloads, the asking side every agency adapter offers,
the population adapter (member G01) and the synthetic reference register it answers from."""
