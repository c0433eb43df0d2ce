"""Department reports generated from the golden records, and the burden the one form removes."""
