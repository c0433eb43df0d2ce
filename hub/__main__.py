from hub.cli.main import app

app()
