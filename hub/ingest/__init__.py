"""Reading department files exactly as they are exported, into the raw layer."""
