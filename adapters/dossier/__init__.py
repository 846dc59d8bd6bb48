"""The dossier adapter: the gateway of one-stop systems for administrative dossiers."""
