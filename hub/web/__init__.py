"""The web app for community staff (`hub serve`): the consolidated form, prefilled."""
