"""A city of districts: each district its own registries, data folder and warehouse; the city
view merges their published persons by citizen ID."""
