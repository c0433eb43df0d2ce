"""Generic registries shipped with the package: `hub init` copies them into a new
deployment, and a deployment's `schemas/` falls back to them for any file it lacks."""
