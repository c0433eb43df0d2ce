"""Record linkage: which department rows are the same resident, with or without a clean ID."""
