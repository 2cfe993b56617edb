"""Pattern packs shipped with the parser (YAML files)."""
