from towerledger.cli import app

app()
